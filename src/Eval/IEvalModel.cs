using MultiLora.Data.Model;

namespace MultiLora.Eval;

/// <summary>
/// One generation request. <paramref name="Prompt"/> is the user message text after the task's prompt
/// template; the model side wraps it in its own conversation template (and inserts the image placeholder).
/// </summary>
public sealed record EvalRequest(string SampleId, string Prompt, ImageSource? Image, int MaxNewTokens);

/// <summary>The seam between the harness and a model: greedy-decode a batch, one reply per request, same order.</summary>
public interface IEvalModel
{
    /// <summary>Names the model (and adapter) for results.json.</summary>
    string Describe { get; }

    IReadOnlyList<string> Generate(IReadOnlyList<EvalRequest> batch, CancellationToken ct);
}
