namespace MultiLora.Data.Pipeline;

/// <summary>Background workers, how many samples may be prepared ahead, and the longest sample accepted (null: no limit).</summary>
public sealed record PipelineOptions
{
    public const int DefaultPrefetch = 64;

    public int Workers { get; init; } = Math.Clamp(Environment.ProcessorCount - 1, 1, 8);
    public int Prefetch { get; init; } = DefaultPrefetch;
    public int? MaxLength { get; init; }
}
