namespace MultiLora.Data.Synthetic;

/// <summary>What <see cref="SyntheticDatasetGenerator"/> writes: image side in pixels, train/eval sizes and the seed.</summary>
public sealed record SynthOptions
{
    public const int DefaultResolution = 64;
    public const int DefaultTrain = 2000;
    public const int DefaultEval = 200;

    public int Resolution { get; init; } = DefaultResolution;
    public int Train { get; init; } = DefaultTrain;
    public int Eval { get; init; } = DefaultEval;
    public int Seed { get; init; }
    /// <summary>Share of text-only samples in the stage-2 mixture spec it writes.</summary>
    public double TextMix { get; init; } = 0.2;
}
