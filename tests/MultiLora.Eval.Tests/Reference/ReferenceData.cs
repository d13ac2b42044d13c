using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MultiLora.Eval.Judge;
using MultiLora.Eval.Running;
using MultiLora.Eval.Tasks;

namespace MultiLora.Eval.Tests.Reference;

/// <summary>
/// One task's differential test data (Reference/data/&lt;task&gt;/expected.json, written by generate.py from the real
/// reference scripts): the files to score and, per answer file, the reference's metrics and per-item results.
/// </summary>
sealed class ReferenceData
{
    public required string Task { get; init; }
    public required string Folder { get; init; }
    public required JsonElement Spec { get; init; }

    public static readonly string[] Tasks = ["pope", "textvqa", "vqav2", "vizwiz", "gqa", "scienceqa_img", "mmbench", "mmvet", "llava_bench"];

    public static ReferenceData Load(string task)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "Reference", "data", task);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
        return new ReferenceData { Task = task, Folder = folder, Spec = doc.RootElement.Clone() };
    }

    public string PathOf(string name) => Path.Combine(Folder, name);

    public string DataFile => PathOf(Spec.GetProperty("data").GetString()!);

    public IEnumerable<JsonElement> Sets => Spec.GetProperty("sets").EnumerateArray();

    /// <summary>The built-in task, its companion files pointed at this folder.</summary>
    public TaskDefinition Definition()
    {
        var task = TaskCatalog.Load().Get(Task);
        string? Opt(string key) => Spec.TryGetProperty(key, out var v) ? PathOf(v.GetString()!) : null;
        return task with
        {
            Annotations = Opt("annotations") ?? task.Annotations,
            References = Opt("references") ?? task.References,
            Context = Opt("context") ?? task.Context,
        };
    }

    public RunResults Score(JsonElement set, bool allowPartial, string? output = null) =>
        PredictionScorer.Score(Definition(), DataFile, PathOf(set.GetProperty("answers").GetString()!),
            new ScoreOptions(Output: output, Judge: Judge(set), AllowPartial: allowPartial));

    /// <summary>The judge replies the reference got, keyed by request; an unknown request means ours differs from the script's.</summary>
    FixedJudge? Judge(JsonElement set)
    {
        if (!set.TryGetProperty("judge", out var name)) return null;
        var replies = new Dictionary<(string, double), string>();
        using var doc = JsonDocument.Parse(File.ReadAllText(PathOf(name.GetString()!)));
        foreach (var e in doc.RootElement.EnumerateArray())
            replies[(e.GetProperty("content_sha256").GetString()!, e.GetProperty("temperature").GetDouble())] = e.GetProperty("reply").GetString()!;
        return new FixedJudge(replies, lenient: set.TryGetProperty("reference_refuses", out _));
    }
}

/// <summary>Serves the reference run's judge replies. Lenient (sets the reference cannot score): unknown requests get a neutral reply.</summary>
sealed class FixedJudge(IReadOnlyDictionary<(string, double), string> replies, bool lenient) : IJudge
{
    public string Describe => "fixed replies of the reference run";

    public JudgeReply Complete(JudgeRequest request, CancellationToken ct)
    {
        var content = request.Messages[^1].Content;
        var key = (Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content))), request.Temperature);
        if (replies.TryGetValue(key, out var reply)) return new JudgeReply(reply, null, false, 1);
        if (lenient) return new JudgeReply("0.5", null, false, 1);
        throw new InvalidOperationException($"the reference script never sent this request (temperature {request.Temperature}): {content[..Math.Min(300, content.Length)]}");
    }
}
