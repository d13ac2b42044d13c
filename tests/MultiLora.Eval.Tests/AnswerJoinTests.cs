using MultiLora.Eval.Running;
using MultiLora.Eval.Samples;
using MultiLora.Eval.Tasks;
using MultiLora.Tests.Common;

namespace MultiLora.Eval.Tests;

/// <summary>Answer files as LLaVA writes them are matched to the questions the way the reference scripts match them.</summary>
public class AnswerJoinTests
{
    [Fact]
    public void TextVqa_LlavaAnswersJoinOnImageIdAndLowerCasedQuestionFromThePrompt()
    {
        using var data = Fixture.Temp();
        TestFiles.WriteTextVqa(data.Path);
        // LLaVA's TextVQA question file uses the image id as question_id; the question is read off the prompt.
        TestFiles.WriteJsonl(data.File("answers.jsonl"), [
            new { question_id = "t3", prompt = "WHAT ANIMAL IS THIS?\nReference OCR token: zoo\nAnswer the question using a single word or phrase.", text = "cat", answer_id = "a", model_id = "m", metadata = new { } },
            new { question_id = "t1", prompt = "Reference OCR token: COKE\nwhat brand is the drink?\nAnswer the question using a single word or phrase.", text = "coke", answer_id = "b", model_id = "m", metadata = new { } },
            new { question_id = "t2", prompt = "OCR tokens: 2 Question: how many cups are there? Short answer:", text = "2", answer_id = "c", model_id = "m", metadata = new { } },
        ]);
        var run = PredictionScorer.Score(TaskCatalog.Load().Get("textvqa"), Path.Combine(data.Path, "textvqa", "TextVQA_0.5.1_val.json"), data.File("answers.jsonl"));
        Assert.Equal(100.0, run.Tasks.Single().Metrics["vqa_accuracy"], 6);
    }

    [Fact]
    public void TextVqa_APromptTheScriptCannotReadIsNamed()
    {
        using var data = Fixture.Temp();
        TestFiles.WriteTextVqa(data.Path);
        TestFiles.WriteJsonl(data.File("answers.jsonl"), [new { question_id = "t3", prompt = "one\ntwo\nthree\nfour", text = "cat" }]);
        var e = Assert.Throws<InvalidDataException>(() => PredictionScorer.Score(TaskCatalog.Load().Get("textvqa"),
            Path.Combine(data.Path, "textvqa", "TextVQA_0.5.1_val.json"), data.File("answers.jsonl")));
        Assert.Contains("line 1 question_id t3 (a prompt eval_textvqa.py cannot read)", e.Message);
    }

    [Fact]
    public void MmVet_LlavaIdsAreTheVersionedIdsOfMmVetJson()
    {
        var task = TaskCatalog.Load().Get("mmvet");
        var samples = new[] { new EvalSample("v1_0", "q", null, "a"), new EvalSample("v1_1", "q", null, "b") };
        var join = AnswerJoin.Match(task, samples, [new AnswerRow(1, "1", "b", null), new AnswerRow(2, "0", "a", null)], Scoring.DuplicateAnswers.LastWins);
        Assert.True(join.Clean);
        Assert.Equal(["v1_0", "v1_1"], join.Answers.Select(a => a.Sample.Id));
    }

    [Fact]
    public void Pope_CombinedQuestionFile_WhoseLabelsDoNotPairUp_IsAnErrorNamingTheLine()
    {
        using var data = Fixture.Temp();
        TestFiles.WritePope(data.Path);
        var combined = Path.Combine(data.Path, "pope", "llava_pope_test.jsonl");
        File.WriteAllLines(combined, File.ReadAllLines(combined).Select(l => l.Replace("\"b.bmp\"", "\"c.bmp\"")));
        var e = Assert.Throws<InvalidDataException>(() => SampleReader.Read(TaskCatalog.Load().Get("pope"), data.Path));
        Assert.Contains("llava_pope_test.jsonl:3", e.Message);
        Assert.Contains("coco_pope_random.json:3", e.Message);
    }

    [Fact]
    public void Pope_CombinedAnswerFile_IsScoredPerCategory()
    {
        using var data = Fixture.Temp();
        TestFiles.WritePope(data.Path);
        TestFiles.WriteJsonl(data.File("answers.jsonl"), Enumerable.Range(1, 5).Select(i => (object)new
        {
            question_id = i, prompt = "", text = i is 1 or 4 or 5 ? "Yes" : "No", answer_id = $"a{i}", model_id = "m", metadata = new { },
        }));
        var m = PredictionScorer.Score(TaskCatalog.Load().Get("pope"), Path.Combine(data.Path, "pope", "llava_pope_test.jsonl"), data.File("answers.jsonl"))
            .Tasks.Single().Metrics;
        // random: dog yes/yes, cat no/no, horse no/yes; popular: car yes/no, person yes/yes.
        Assert.Equal(100.0 * 2 / 3, m["accuracy/random"], 6);
        Assert.Equal(50.0, m["accuracy/popular"], 6);
        Assert.Equal(100.0 * (2.0 / 3 + 0.5) / 2, m["accuracy"], 6);
    }
}
