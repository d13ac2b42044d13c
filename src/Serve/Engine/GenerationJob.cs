using System.Diagnostics;
using System.Threading.Channels;
using MultiLora.Data.Images;

namespace MultiLora.Serve.Engine;

/// <summary>How a request picks its tokens: greedy at temperature 0, else seeded sampling with nucleus filtering.</summary>
public sealed record Sampling(double Temperature = 0, double TopP = 1.0, long? Seed = null)
{
    public bool Greedy => Temperature <= 0;
}

/// <summary>Why a request's generation ended, in OpenAI's finish_reason words.</summary>
public static class FinishReasons
{
    public const string Stop = "stop";
    public const string Length = "length";
}

/// <summary>What the scheduler reports about a request, in order: text pieces, then one end.</summary>
public abstract record JobEvent;
public sealed record TextPiece(string Text) : JobEvent;
/// <param name="Text">the whole reply (what the pieces add up to)</param>
public sealed record JobFinished(string FinishReason, int PromptTokens, IReadOnlyList<int> TokenIds, string Text) : JobEvent;
public sealed record JobFailed(string Message) : JobEvent;

/// <summary>
/// One chat completion as the scheduler sees it: prompt ids (image placeholders expanded), the image, the adapter
/// (null: the base), decoding settings and limits. The HTTP side reads <see cref="Events"/>; cancelling
/// <see cref="Cancellation"/> (the client went away) frees its batch slot at the next step.
/// </summary>
public sealed class GenerationJob
{
    readonly Channel<JobEvent> _events = Channel.CreateUnbounded<JobEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    public required string Id { get; init; }
    /// <summary>The model id the client asked for (the base's or an adapter's): the metrics label.</summary>
    public required string Model { get; init; }
    /// <summary>The adapter <see cref="Model"/> resolved to when the scheduler accepted the job (null: the base).</summary>
    public string? Adapter { get; internal set; }
    public required int[] PromptIds { get; init; }
    public RgbImage? Image { get; init; }
    public required Sampling Sampling { get; init; }
    public required int MaxTokens { get; init; }
    public IReadOnlyList<string> Stop { get; init; } = [];
    /// <summary>Go on past end-of-sequence tokens up to <see cref="MaxTokens"/> (vLLM's ignore_eos, for load tests).</summary>
    public bool IgnoreEos { get; init; }
    public CancellationToken Cancellation { get; init; }

    public ChannelReader<JobEvent> Events => _events.Reader;

    /// <summary>Started when the request was accepted; the scheduler reads it for time to first token.</summary>
    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    internal void Emit(JobEvent e)
    {
        _events.Writer.TryWrite(e);
        if (e is JobFinished or JobFailed) _events.Writer.TryComplete();
    }
}
