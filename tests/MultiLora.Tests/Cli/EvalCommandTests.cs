using System.Text.Json;
using System.Text.Json.Nodes;
using MultiLora.Cli;
using MultiLora.Tests.Common;

namespace MultiLora.Tests.Cli;

/// <summary>`multilora eval` with the fixture model on small files in the official POPE and MMBench formats.</summary>
[Collection(CliCollection.Name)]
public sealed class EvalCommandTests
{
    static void WriteData(string root)
    {
        Directory.CreateDirectory(Path.Combine(root, "pope", "val2014"));
        File.Copy(Fixture.Path("image.png"), Path.Combine(root, "pope", "val2014", "square.png"));
        File.WriteAllLines(Path.Combine(root, "pope", "coco_pope_random.json"),
        [
            """{"question_id": 1, "image": "square.png", "text": "Is there a square in the image?", "label": "yes"}""",
            """{"question_id": 2, "image": "square.png", "text": "Is there a dog in the image?", "label": "no"}""",
            """{"question_id": 3, "image": "missing.png", "text": "Is there a cat in the image?", "label": "no"}""",
        ]);
        string image = Convert.ToBase64String(File.ReadAllBytes(Fixture.Path("image.png")));
        Directory.CreateDirectory(Path.Combine(root, "mmbench"));
        File.WriteAllLines(Path.Combine(root, "mmbench", "mmbench_dev_20230712.tsv"),
        [
            "index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\timage",
            $"0\tWhat color is the square?\tnan\tred\tblue\tgreen\tnan\tA\tcolor\t{image}",
        ]);
    }

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
}
