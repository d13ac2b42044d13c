namespace MultiLora.Eval.Tasks;

/// <summary>
/// The public code a task's scoring reproduces: a repository ("owner/name" on GitHub), the commit, and the files
/// whose behaviour is reproduced. Named by the task YAML (key <c>reproduces</c>) and recorded in results.json.
/// </summary>
public sealed record ReferenceImplementation(string Repository, string Commit, IReadOnlyList<string> Files)
{
    public override string ToString() => $"{Repository}@{(Commit.Length > 7 ? Commit[..7] : Commit)}:{string.Join(",", Files)}";
}
