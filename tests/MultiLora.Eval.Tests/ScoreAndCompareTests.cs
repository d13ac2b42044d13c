using System.Text.Json.Nodes;
using MultiLora.Eval.Running;
using MultiLora.Eval.Tasks;
using MultiLora.Tests.Common;

namespace MultiLora.Eval.Tests;

/// <summary>`eval score` on LLaVA answer files, and `eval compare`.</summary>
public class ScoreAndCompareTests
{
    [Fact]
    public void Score_PopeAnswerFile_MatchesTheWorkedOutMetrics()
    {
        using var data = Fixture.Temp();
        TestFiles.WritePope(data.Path);
        var questions = Path.Combine(data.Path, "pope", "coco", "coco_pope_random.json");   // POPE's own label file
        TestFiles.WriteJsonl(data.File("answers.jsonl"), [
            new { question_id = 1, prompt = "", text = "Yes, there is", answer_id = "x", model_id = "m" },
            new { question_id = 2, prompt = "", text = "No.", answer_id = "y", model_id = "m" },
            new { question_id = 3, prompt = "", text = "There is no dog", answer_id = "z", model_id = "m" },
        ]);
        var run = PredictionScorer.Score(TaskCatalog.Load().Get("pope"), questions, data.File("answers.jsonl"), new ScoreOptions(data.File("out/results.json")));
        var m = run.Tasks.Single().Metrics;
        Assert.Equal(100.0 * 2 / 3, m["accuracy"], 6);   // TP, TN, FN
        Assert.Equal(100.0, m["precision"], 6);
        Assert.Equal(50.0, m["recall"], 6);
        Assert.True(File.Exists(data.File("out/results.md")));
        Assert.Equal(3, File.ReadAllLines(data.File("out/results.samples.jsonl")).Length);
    }

    [Fact]
    public void Score_TextVqaAnswerFileMissingAQuestion_WithAllowPartial_AveragesTheAnswersPresent()
    {
        using var data = Fixture.Temp();
        TestFiles.WriteTextVqa(data.Path);
        TestFiles.WriteJsonl(data.File("answers.jsonl"), [
            new { question_id = 11, text = "Coca-Cola." },
            new { question_id = 12, text = "two" },
        ]);
        var run = PredictionScorer.Score(TaskCatalog.Load().Get("textvqa"), Path.Combine(data.Path, "textvqa", "TextVQA_0.5.1_val.json"), data.File("answers.jsonl"),
            new ScoreOptions(AllowPartial: true));
        var m = run.Tasks.Single().Metrics;
        Assert.Equal(100.0 * (0.9 + 1.0) / 2, m["vqa_accuracy"], 6);   // LLaVA's m4c evaluator averages the answers present
        Assert.Equal(1, m["failed"]);
        Assert.Equal(100.0 * 2 / 3, m["coverage"], 6);
        Assert.Contains("13", Assert.Single(run.Tasks.Single().Warnings!));
    }

    [Fact]
    public void Score_Vqav2QuestionsPlusAnnotations_AndVizWizList()
    {
        using var data = Fixture.Temp();
        TestFiles.WriteJson(data.File("vqav2/q.json"), new { data_subtype = "val2014", questions = new[] { new { question_id = 7, image_id = 42, question = "Is it raining?" } } });
        TestFiles.WriteJson(data.File("vqav2/a.json"), new { annotations = new[] { new { question_id = 7, answers = Enumerable.Range(0, 10).Select(i => new { answer = i < 2 ? "yes" : "no", answer_id = i + 1 }).ToArray() } } });
        TestFiles.WriteJsonl(data.File("p.jsonl"), [new { question_id = 7, text = "Yes" }]);
        var vqav2 = TaskCatalog.Load().Get("vqav2") with { Annotations = data.File("vqav2/a.json") };
        // 2 of 10 said yes: leaving out a "yes" leaves 1 match (1/3); leaving out a "no" leaves 2 (2/3).
        var expected = 100 * (2 * (1.0 / 3) + 8 * (2.0 / 3)) / 10;
        Assert.Equal(expected, PredictionScorer.Score(vqav2, data.File("vqav2/q.json"), data.File("p.jsonl")).Tasks[0].Metrics["vqa_accuracy"], 6);

        TestFiles.WriteJson(data.File("vizwiz/val.json"), new[] { new { image = "VizWiz_val_00000001.jpg", question = "What is this?", answers = Enumerable.Repeat(new { answer = "unanswerable", answer_confidence = "yes" }, 10).ToArray() } });
        TestFiles.WriteJsonl(data.File("v.jsonl"), [new { question_id = "VizWiz_val_00000001.jpg", text = "Unanswerable" }]);
        Assert.Equal(100.0, PredictionScorer.Score(TaskCatalog.Load().Get("vizwiz"), data.File("vizwiz/val.json"), data.File("v.jsonl")).Tasks[0].Metrics["vqa_accuracy"], 6);
    }

    [Fact]
    public void Score_MmbenchAllRoundsAnswers_MapRoundIdToRotations()
    {
        using var data = Fixture.Temp();
        TestFiles.WriteMmbench(data.Path);
        // LLaVA's model_vqa_mmbench --all-rounds: same question_id, round_id 0..k-1, options shifted left each round.
        TestFiles.WriteJsonl(data.File("answers.jsonl"), [
            new { question_id = 0, round_id = 0, text = "A" },        // cat
            new { question_id = 0, round_id = 1, text = "C) cat" },   // dog bird cat
            new { question_id = 0, round_id = 2, text = "B" },        // bird cat dog
            new { question_id = 1, round_id = 0, text = "B" },        // red blue
            new { question_id = 1, round_id = 1, text = "blue" },     // blue red: text names option A
        ]);
        var run = PredictionScorer.Score(TaskCatalog.Load().Get("mmbench"), Path.Combine(data.Path, "mmbench", "mmbench_dev_20230712.tsv"), data.File("answers.jsonl"));
        Assert.Equal(100.0, run.Tasks.Single().Metrics["accuracy"], 6);
    }

    [Fact]
    public void Score_BrokenAnswerLineIsAnErrorNamingTheLine()
    {
        using var data = Fixture.Temp();
        TestFiles.WritePope(data.Path);
        File.WriteAllText(data.File("answers.jsonl"), "{\"question_id\": 1, \"text\": \"Yes\"}\n{broken\n");
        var e = Assert.Throws<InvalidDataException>(() => PredictionScorer.Score(TaskCatalog.Load().Get("pope"),
            Path.Combine(data.Path, "pope", "coco", "coco_pope_random.json"), data.File("answers.jsonl")));
        Assert.Contains("answers.jsonl:2", e.Message);
    }

    [Fact]
    public void Compare_GivesPerTaskMetricDeltas()
    {
        using var dir = Fixture.Temp();
        Directory.CreateDirectory(dir.File("a"));
        File.WriteAllText(dir.File("a/results.json"), new JsonObject { ["tasks"] = new JsonObject { ["pope"] = new JsonObject { ["f1"] = 80.0, ["n"] = 10 }, ["gqa"] = new JsonObject { ["exact_match"] = 50 } } }.ToJsonString());
        File.WriteAllText(dir.File("b.json"), new JsonObject { ["tasks"] = new JsonObject { ["pope"] = new JsonObject { ["f1"] = 85.5, ["n"] = 10 } } }.ToJsonString());
        var rows = RunComparer.Compare(dir.File("a"), dir.File("b.json"));
        var f1 = rows.Single(r => r.Task == "pope" && r.Metric == "f1");
        Assert.Equal(5.5, f1.Delta!.Value, 9);
        Assert.Equal(0.0, rows.Single(r => r.Metric == "n").Delta!.Value);
        var gqa = rows.Single(r => r.Task == "gqa");
        Assert.Null(gqa.B);
        Assert.Null(gqa.Delta);
    }
}
