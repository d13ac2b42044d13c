using System.Diagnostics;
using MultiLora.Llava.Generation;

namespace MultiLora.Serve.Engine;

/// <summary>A running request: its place in the batch, the token it feeds next and at which position, its text so far.</summary>
sealed class DecodeRow(GenerationJob job, TextStream text, TokenSampler? sampler, long position) : IDisposable
{
    public GenerationJob Job { get; } = job;
    public TextStream Text { get; } = text;
    /// <summary>Null for greedy rows (their argmax is taken for the whole batch at once).</summary>
    public TokenSampler? Sampler { get; } = sampler;
    /// <summary>The position of <see cref="NextToken"/> (the prompt's length after prefill, then one more per step).</summary>
    public long Position { get; set; } = position;
    public int NextToken { get; set; }
    public int Generated => Text.Tokens.Count;
    /// <summary>Running since the first token (decode speed excludes the prefill).</summary>
    public Stopwatch SinceFirstToken { get; } = new();

    public void Dispose() => Sampler?.Dispose();
}
