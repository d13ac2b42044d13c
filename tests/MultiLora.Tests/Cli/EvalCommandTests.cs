using System.Text.Json;
using System.Text.Json.Nodes;
using MultiLora.Cli;
using MultiLora.Tests.Common;
using Spectre.Console;

namespace MultiLora.Tests.Cli;

/// <summary>`multilora eval` with the fixture model on small files in the official POPE and MMBench formats.</summary>
[Collection(CliCollection.Name)]
public sealed class EvalCommandTests
{
    static void WriteData(string root) => EvalTaskData.Write(root,
    [
        new(1, "square.png", "Is there a square in the image?", "yes"),
        new(2, "square.png", "Is there a dog in the image?", "no"),
        new(3, "missing.png", "Is there a cat in the image?", "no"),
    ],
    [
        new("What color is the square?", "nan", "red", "blue", "green", "nan", "A", "color"),
    ]);

    [Fact]
    public void Eval_RunsTheFixtureModelOnPopeAndMmbench_AndRecordsTheBadImage()
    {
        using var tmp = Fixture.Temp();
        WriteData(tmp.Path);
        string run = Path.Combine(tmp.Path, "run");
        int code = CliApp.Run(["eval", "--model", Fixture.Path("model"), "--tasks", "pope,mmbench", "--data-root", tmp.Path,
            "--out", run, "--max-new-tokens-ignored-check"]);
        Assert.NotEqual(0, code); // unknown option: refused, nothing run
        code = CliApp.Run(["eval", "--model", Fixture.Path("model"), "--tasks", "pope,mmbench", "--data-root", tmp.Path, "--out", run, "--batch-size", "2"]);
        Assert.Equal(0, code);

        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "results.json")))!;
        var pope = results["tasks"]!["pope"]!;
        Assert.Equal(3, pope["n"]!.GetValue<double>());
        Assert.Equal(1, pope["failed"]!.GetValue<double>());   // missing.png is recorded as failed, not dropped
        foreach (var metric in new[] { "accuracy", "precision", "recall", "f1", "yes_ratio" }) Assert.NotNull(pope[metric]);
        var mmbench = results["tasks"]!["mmbench"]!;
        Assert.Equal(3, mmbench["n"]!.GetValue<double>());     // one 3-option question asked in its 3 circular rotations
        Assert.InRange(mmbench["accuracy"]!.GetValue<double>(), 0, 100);
        Assert.Contains("tiny-llava", results["model"]!.GetValue<string>());

        var samples = File.ReadAllLines(Path.Combine(run, "samples", "pope.jsonl"));
        Assert.Equal(3, samples.Length);
        Assert.Contains(samples, s => JsonDocument.Parse(s).RootElement.GetRawText().Contains("missing.png"));
    }

    /// <summary>Runs the CLI with Spectre's output captured on a wide console (so a one-line message stays one line).</summary>
    static (int Code, string Output) RunCaptured(params string[] args)
    {
        var output = new StringWriter();
        var previous = AnsiConsole.Console;
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), ColorSystem = ColorSystemSupport.NoColors });
        AnsiConsole.Console.Profile.Width = 100_000;
        try { return (CliApp.Run(args), output.ToString()); }
        finally { AnsiConsole.Console = previous; }
    }

    static string Reference(string task, string file) => Path.Combine(AppContext.BaseDirectory, "EvalReference", task, file);

    public static TheoryData<string> LlavaAnswerFileTasks => new(["pope", "textvqa", "scienceqa_img", "vqav2", "gqa", "mmbench"]);

    [Theory]
    [MemberData(nameof(LlavaAnswerFileTasks))]
    public void EvalScore_ScoresALlavaWrittenAnswerFileAsWritten_AsTheReferenceScriptDoes(string task)
    {
        // The answer files hold what LLaVA's model_vqa*.py write (question_id, prompt, text, answer_id, model_id,
        // metadata; MMBench adds round_id, options, option_char); the POPE one answers the combined llava_pope_test.jsonl.
        using var expected = JsonDocument.Parse(File.ReadAllText(Reference(task, "expected.json")));
        var spec = expected.RootElement;
        using var tmp = Fixture.Temp();
        var (code, output) = RunCaptured("eval", "score", "--task", task, "--data", Reference(task, spec.GetProperty("data").GetString()!),
            "--predictions", Reference(task, "answers.jsonl"), "--out", tmp.File("results.json"));
        Assert.True(code == 0, output);
        var results = JsonNode.Parse(File.ReadAllText(tmp.File("results.json")))!;
        var metrics = results["tasks"]![task]!;
        foreach (var m in spec.GetProperty("sets")[0].GetProperty("metrics").EnumerateObject())
            Assert.True(Math.Abs(metrics[m.Name]!.GetValue<double>() - m.Value.GetDouble()) <= 1e-6, $"{task} {m.Name}: {metrics[m.Name]} vs reference {m.Value}");
        Assert.Equal(results["coverage"]![task]!["total"]!.GetValue<int>(), results["coverage"]![task]!["answered"]!.GetValue<int>());
        var reproduces = results["reproduces"]![task]!.AsArray();
        foreach (var r in spec.GetProperty("reproduces").EnumerateArray().Where(r => reproduces.All(x => x!["repository"]!.GetValue<string>() != r.GetProperty("repository").GetString())))
            Assert.Fail($"{task}: results.json does not record {r.GetProperty("repository")}");
        Assert.Contains("coverage", File.ReadAllText(tmp.File("results.md")));
    }

    [Fact]
    public void EvalScore_AnswerFileThatDoesNotMatchTheQuestions_IsAOneLineErrorNamingTheFirstIds_UnlessAllowPartial()
    {
        var data = Reference("vqav2", "v2_OpenEnded_mscoco_val2014_questions.json");
        var answers = Reference("vqav2", "answers_partial.jsonl");
        var (code, output) = RunCaptured("eval", "score", "--task", "vqav2", "--data", data, "--predictions", answers);
        Assert.Equal(1, code);
        var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains("match no question (first: line ", line);
        Assert.Contains("answered more than once", line);
        Assert.Contains("without an answer", line);
        using var expected = JsonDocument.Parse(File.ReadAllText(Reference("vqav2", "expected.json")));
        foreach (var id in expected.RootElement.GetProperty("sets")[1].GetProperty("strict_error_names").EnumerateArray())
            Assert.Contains(id.GetString()!, line);

        using var tmp = Fixture.Temp();
        (code, output) = RunCaptured("eval", "score", "--task", "vqav2", "--data", data, "--predictions", answers, "--allow-partial", "--out", tmp.File("r.json"));
        Assert.Equal(0, code);
        Assert.Contains("warning: ", output);
        var results = JsonNode.Parse(File.ReadAllText(tmp.File("r.json")))!;
        Assert.Equal(302, results["coverage"]!["vqav2"]!["answered"]!.GetValue<int>());
        Assert.Equal(310, results["coverage"]!["vqav2"]!["total"]!.GetValue<int>());
        Assert.Single(results["warnings"]!["vqav2"]!.AsArray());
        Assert.Contains("WARNING", File.ReadAllText(tmp.File("r.md")));
    }
}
