using System.Text.Json;
using System.Text.Json.Nodes;
using MultiLora.Eval.Running;
using MultiLora.Tests.Common;

namespace MultiLora.Eval.Tests;

/// <summary>Whole runs with a deterministic fake model over small files in each official format.</summary>
public class EndToEndTests
{
    static JsonObject Results(string dir) => JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!.AsObject();
    static double Metric(JsonObject results, string task, string metric) => results["tasks"]![task]![metric]!.GetValue<double>();

    static void WriteScienceQa(string root)
    {
        foreach (var pid in new[] { "p1", "p4" }) TestFiles.WriteImage(Path.Combine(root, "scienceqa", "images", "test", pid, "image.png"));
        TestFiles.WriteJson(Path.Combine(root, "scienceqa", "problems.json"), new Dictionary<string, object?>
        {
            ["p1"] = new { question = "Which is a mammal?", choices = new[] { "frog", "whale" }, answer = 1, hint = "", image = "image.png", split = "test", subject = "natural science" },
            ["p2"] = new { question = "No image here", choices = new[] { "a", "b" }, answer = 0, hint = "", image = (string?)null, split = "test" },
            ["p3"] = new { question = "Train split", choices = new[] { "a", "b" }, answer = 0, hint = "", image = "image.png", split = "train" },
            ["p4"] = new { question = "Which is hot?", choices = new[] { "fire", "ice", "snow" }, answer = 0, hint = "Think.", image = "image.png", split = "test", subject = "physics" },
        });
    }

    static void WriteGqa(string root)
    {
        TestFiles.WriteImage(Path.Combine(root, "gqa", "images", "n1.jpg"));
        TestFiles.WriteJson(Path.Combine(root, "gqa", "testdev_balanced_questions.json"), new Dictionary<string, object>
        {
            ["q1"] = new { imageId = "n1", question = "What color is the ball?", answer = "red" },
            ["q2"] = new { imageId = "n1", question = "Which side is the cup on?", answer = "left" },
        });
    }

    static string Reply(EvalRequest r) => r.Prompt switch
    {
        var p when p.Contains("in the image?") => TestFiles.PopeReply(p),
        var p when p.Contains("Which animal") || p.Contains("colour") => TestFiles.MmbenchReply(p),
        var p when p.Contains("brand") || p.Contains("cups") || p.Contains("what animal") => TestFiles.TextVqaReply(p),
        var p when p.Contains("mammal") => "B",
        var p when p.Contains("hot?") => "The answer is C",
        var p when p.Contains("ball") => "Red.",
        var p when p.Contains("cup on") => "right",
        _ => throw new InvalidOperationException("unexpected prompt " + r.Prompt),
    };

    [Fact]
    public void EndToEnd_AllOfficialFormats_ResultsJsonHoldsWorkedOutMetrics()
    {
        using var data = Fixture.Temp();
        using var run = Fixture.Temp();
        TestFiles.WritePope(data.Path);
        TestFiles.WriteMmbench(data.Path);
        TestFiles.WriteTextVqa(data.Path);
        WriteScienceQa(data.Path);
        WriteGqa(data.Path);
        var model = new FakeModel(Reply);
        var progress = new List<EvalProgress>();
        var options = new EvalRunOptions(["pope", "mmbench", "textvqa", "scienceqa_img", "gqa"], data.Path, run.Path, BatchSize: 2,
            Adapter: "adapters/test", Progress: new SyncProgress<EvalProgress>(progress.Add));
        EvalRunner.Run(model, options);

        var results = Results(run.Path);
        // POPE per category: random TP (dog), TN (cat), FN (horse); popular FP (car), TP (person). The plain metric is the
        // mean over the categories: accuracy (2/3 + 1/2) / 2, precision (1 + 1/2) / 2, recall (1/2 + 1) / 2, f1 2/3.
        Assert.Equal(100.0 * (2.0 / 3 + 0.5) / 2, Metric(results, "pope", "accuracy"), 4);
        Assert.Equal(75.0, Metric(results, "pope", "precision"), 4);
        Assert.Equal(75.0, Metric(results, "pope", "recall"), 4);
        Assert.Equal(100.0 * 2 / 3, Metric(results, "pope", "f1"), 4);
        Assert.Equal(100.0 * (1.0 / 3 + 1) / 2, Metric(results, "pope", "yes_ratio"), 4);
        Assert.Equal(50.0, Metric(results, "pope", "recall/random"), 4);
        Assert.Equal(50.0, Metric(results, "pope", "precision/popular"), 4);
        // MMBench: Q0 right in all 3 rotations, Q1 right in 1 of 2 -> 1 of 2 questions.
        Assert.Equal(50.0, Metric(results, "mmbench", "accuracy"), 4);
        Assert.Equal(100.0, Metric(results, "mmbench", "category_accuracy/animals"), 4);
        Assert.Equal(0.0, Metric(results, "mmbench", "category_accuracy/colors"), 4);
        Assert.Equal(5, Metric(results, "mmbench", "n"));
        // TextVQA: 0.9, 1.0, 0.3.
        Assert.Equal(100.0 * (0.9 + 1.0 + 0.3) / 3, Metric(results, "textvqa", "vqa_accuracy"), 4);
        // ScienceQA-IMG: p1 right, p4 wrong ("The answer is C" has no character after the letter for LLaVA's pattern);
        // p2 (no image) is not asked and p3 (train) not part of the test split.
        Assert.Equal(50.0, Metric(results, "scienceqa_img", "accuracy"), 4);
        Assert.Equal(2, Metric(results, "scienceqa_img", "n"));
        Assert.Equal(50.0, Metric(results, "gqa", "accuracy"), 4);
        var sqaPrompt = JsonNode.Parse(File.ReadAllLines(Path.Combine(run.Path, "samples", "scienceqa_img.jsonl"))[0])!["prompt"]!.GetValue<string>();
        Assert.Equal("Context: N/A\nQuestion: Which is a mammal?\nOptions: (A) frog (B) whale\nAnswer with the option's letter from the given choices directly.", sqaPrompt);

        Assert.Equal("haotian-liu/LLaVA", results["reproduces"]!["pope"]![0]!["repository"]!.GetValue<string>());
        Assert.Equal("llava_pope", results["scorers"]!["pope"]!.GetValue<string>());
        Assert.Equal(5, results["coverage"]!["pope"]!["answered"]!.GetValue<int>());
        Assert.Equal(100.0, Metric(results, "pope", "coverage"), 6);
        Assert.Equal("fake-model", results["model"]!.GetValue<string>());
        Assert.Equal("adapters/test", results["adapter"]!.GetValue<string>());
        Assert.True(results["samples_per_second"]!.GetValue<double>() > 0);
        Assert.Equal(17, model.Requests);
        Assert.All(model.BatchSizes, b => Assert.InRange(b, 1, 2));
        Assert.True(File.Exists(Path.Combine(run.Path, "results.md")));
        Assert.Contains("| pope | accuracy | 58.33 |", File.ReadAllText(Path.Combine(run.Path, "results.md")));
        Assert.Equal(5, progress.Count(p => p.Task == "pope"));
        Assert.Equal(5, progress.Last(p => p.Task == "pope").Done);

        var mmLines = File.ReadAllLines(Path.Combine(run.Path, "samples", "mmbench.jsonl"));
        Assert.Equal(5, mmLines.Length);
        var first = JsonNode.Parse(mmLines[0])!;
        Assert.EndsWith("Answer with the option's letter from the given choices directly.", first["prompt"]!.GetValue<string>());
        Assert.Equal("A", first["parsed"]!.GetValue<string>());
        Assert.Equal("A", first["reference"]!.GetValue<string>());
        Assert.Equal(1.0, first["score"]!.GetValue<double>());
    }

    [Fact]
    public void EndToEnd_BadImageAndThrowingSample_AreRecordedAsFailedAndCounted()
    {
        using var data = Fixture.Temp();
        using var run = Fixture.Temp();
        TestFiles.WritePope(data.Path);
        File.WriteAllBytes(Path.Combine(data.Path, "pope", "val2014", "b.bmp"), [1, 2, 3, 4]);   // corrupt: samples 3 and 4
        var model = new FakeModel(r => r.Prompt.Contains("person") ? throw new InvalidOperationException("CUDA said no") : TestFiles.PopeReply(r.Prompt));
        EvalRunner.Run(model, new EvalRunOptions(["pope"], data.Path, run.Path, BatchSize: 4));

        var results = Results(run.Path);
        Assert.Equal(5, Metric(results, "pope", "n"));
        Assert.Equal(3, Metric(results, "pope", "failed"));
        // Left: dog (TP), cat (TN). horse, car (bad image) and person (threw) have no answer; horse and person are positives -> FN.
        // random: accuracy 2/3, recall 1/2; popular: accuracy 0, recall 0; the plain metrics are the means.
        Assert.Equal(100.0 / 3, Metric(results, "pope", "accuracy"), 4);
        Assert.Equal(25.0, Metric(results, "pope", "recall"), 4);
        Assert.Equal(40.0, Metric(results, "pope", "coverage"), 4);
        var failed = File.ReadAllLines(Path.Combine(run.Path, "samples", "pope.jsonl")).Select(l => JsonNode.Parse(l)!)
            .Where(n => n["status"]!.GetValue<string>() == "failed").ToDictionary(n => n["id"]!.GetValue<string>(), n => n["error"]!.GetValue<string>());
        Assert.Contains("b.bmp", failed["3"]);
        Assert.Contains("CUDA said no", failed["5"]);
    }

    [Fact]
    public void EndToEnd_LimitKeepsFirstQuestionsWithAllTheirRotations()
    {
        using var data = Fixture.Temp();
        using var run = Fixture.Temp();
        TestFiles.WriteMmbench(data.Path);
        var model = new FakeModel(r => TestFiles.MmbenchReply(r.Prompt));
        EvalRunner.Run(model, new EvalRunOptions(["mmbench"], data.Path, run.Path, Limit: 1));
        Assert.Equal(3, model.Requests);
        Assert.Equal(100.0, Metric(Results(run.Path), "mmbench", "accuracy"), 4);
    }

    [Fact]
    public void EndToEnd_UnknownTaskFailsBeforeGenerating()
    {
        using var run = Fixture.Temp();
        var model = new FakeModel(_ => "x");
        var e = Assert.Throws<ArgumentException>(() => EvalRunner.Run(model, new EvalRunOptions(["pope", "nope"], run.Path, run.Path)));
        Assert.Contains("nope", e.Message);
        Assert.Equal(0, model.Requests);
    }
}

/// <summary>IProgress that calls back synchronously (Progress&lt;T&gt; posts to the thread pool).</summary>
sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
