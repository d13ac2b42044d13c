namespace MultiLora.Eval.Judge;

/// <summary>A chat-completions judge: the HTTP client in production, a table of fixed replies in tests.</summary>
public interface IJudge
{
    string Describe { get; }

    JudgeReply Complete(JudgeRequest request, CancellationToken ct);
}
