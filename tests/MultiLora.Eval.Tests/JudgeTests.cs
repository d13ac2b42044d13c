using System.Text.Json.Nodes;
using MultiLora.Eval.Judge;
using MultiLora.Eval.Running;
using MultiLora.Eval.Scoring;
using MultiLora.Tests.Common;

namespace MultiLora.Eval.Tests;

/// <summary>The judge path against a real local chat-completions server; short timeouts keep it fast.</summary>
public class JudgeTests
{
    static JudgeOptions Options(JudgeServer server, string? cache = null, int timeoutMs = 2000, int attempts = 3) =>
        new(server.BaseUrl, "judge-test", "sk-test", TimeSpan.FromMilliseconds(timeoutMs), attempts, TimeSpan.FromMilliseconds(10), cache);

    static JudgeRequest Request(string text) => new([new JudgeMessage("user", text)], 0.0, 3);

    [Fact]
    public void Judge_RetriesAfterA500()
    {
        using var server = new JudgeServer((call, _) => call == 1 ? (500, "{\"error\":\"boom\"}", 0) : (200, JudgeServer.Reply("0.7"), 0));
        using var client = new JudgeClient(Options(server));
        var reply = client.Complete(Request("q"), CancellationToken.None);
        Assert.Equal("0.7", reply.Content);
        Assert.Equal(2, reply.Attempts);
        Assert.Equal(2, server.Calls);
        var sent = server.Requests[0];
        Assert.Equal("judge-test", sent["model"]!.GetValue<string>());
        Assert.Equal(3, sent["max_tokens"]!.GetValue<int>());
        Assert.Equal("q", sent["messages"]![0]!["content"]!.GetValue<string>());
    }

    [Fact]
    public void Judge_TimeoutIsRetriedThenGivesUpWithReason()
    {
        using var server = new JudgeServer((call, _) => call == 1 ? (200, JudgeServer.Reply("0.1"), 1500) : (200, JudgeServer.Reply("0.9"), 0));
        using var client = new JudgeClient(Options(server, timeoutMs: 200));
        Assert.Equal("0.9", client.Complete(Request("slow once"), CancellationToken.None).Content);

        using var slow = new JudgeServer((_, _) => (200, JudgeServer.Reply("0.1"), 1500));
        using var client2 = new JudgeClient(Options(slow, timeoutMs: 150, attempts: 2));
        var reply = client2.Complete(Request("always slow"), CancellationToken.None);
        Assert.False(reply.Ok);
        Assert.Contains("gave up after 2 attempts", reply.Failure);
        Assert.Contains("timed out", reply.Failure);
    }

    [Fact]
    public void Judge_MalformedReplyFailsAtOnceWithReason()
    {
        using var server = new JudgeServer((_, _) => (200, "{\"choices\": []}", 0));
        using var client = new JudgeClient(Options(server));
        var reply = client.Complete(Request("q"), CancellationToken.None);
        Assert.False(reply.Ok);
        Assert.Contains("malformed reply", reply.Failure);
        Assert.Equal(1, server.Calls);

        using var notJson = new JudgeServer((_, _) => (200, "<html>gateway</html>", 0));
        using var client2 = new JudgeClient(Options(notJson));
        Assert.Contains("malformed reply", client2.Complete(Request("q"), CancellationToken.None).Failure);
    }

    [Fact]
    public void Judge_RepliesAreCachedByRequestHash()
    {
        using var cache = Fixture.Temp();
        using var server = new JudgeServer((call, _) => (200, JudgeServer.Reply($"reply {call}"), 0));
        using (var client = new JudgeClient(Options(server, cache.Path)))
        {
            Assert.Equal("reply 1", client.Complete(Request("a"), CancellationToken.None).Content);
            Assert.Equal("reply 2", client.Complete(Request("b"), CancellationToken.None).Content);
        }
        using var again = new JudgeClient(Options(server, cache.Path));
        var cached = again.Complete(Request("a"), CancellationToken.None);
        Assert.True(cached.FromCache);
        Assert.Equal("reply 1", cached.Content);
        Assert.Equal(2, server.Calls);
    }

    static void WriteLlavaBench(string root)
    {
        var dir = Path.Combine(root, "llava-bench-in-the-wild");
        TestFiles.WriteImage(Path.Combine(dir, "images", "001.jpg"));
        TestFiles.WriteJsonl(Path.Combine(dir, "questions.jsonl"), [
            new { question_id = 0, image = "001.jpg", text = "What is in the picture?", category = "conv" },
            new { question_id = 1, image = "001.jpg", text = "Describe the picture in detail.", category = "detail" },
            new { question_id = 2, image = "001.jpg", text = "Why is this funny?", category = "complex" },
        ]);
        TestFiles.WriteJsonl(Path.Combine(dir, "answers_gpt4.jsonl"), [
            new { question_id = 0, text = "A red ball on green grass." },
            new { question_id = 1, text = "The picture shows a red ball." },
            new { question_id = 2, text = "It is not funny." },
        ]);
        TestFiles.WriteJsonl(Path.Combine(dir, "context.jsonl"), [new { image = "001.jpg", caption = new[] { "A ball.", "On grass." } }]);
    }

    [Fact]
    public void LlavaBench_JudgedRelativeScorePerCategory_AndAnUnreadableReplyCountsAsMinusOne()
    {
        using var data = Fixture.Temp();
        using var run = Fixture.Temp();
        WriteLlavaBench(data.Path);
        using var server = new JudgeServer((_, req) =>
        {
            var user = req["messages"]![1]!["content"]!.GetValue<string>();
            return user.Contains("What is in the picture?") ? (200, JudgeServer.Reply("8 6\nAssistant 2 is shorter."), 0)
                 : user.Contains("Describe") ? (200, JudgeServer.Reply("10,5\nMeh."), 0)
                 : (200, JudgeServer.Reply("I cannot rate this."), 0);
        });
        var model = new FakeModel(r => "A ball.");
        EvalRunner.Run(model, new EvalRunOptions(["llava_bench"], data.Path, run.Path, Judge: Options(server)));

        var tasks = JsonNode.Parse(File.ReadAllText(Path.Combine(run.Path, "results.json")))!["tasks"]!["llava_bench"]!;
        Assert.Equal(75.0, tasks["relative_score/conv"]!.GetValue<double>(), 4);
        Assert.Equal(50.0, tasks["relative_score/detail"]!.GetValue<double>(), 4);
        // LLaVA's parse_score reads "I cannot rate this." as [-1, -1], and summarize_gpt_review.py averages it in;
        // the means are rounded to 3 decimals before the ratio.
        Assert.Equal(100.0, tasks["relative_score/complex"]!.GetValue<double>(), 4);
        Assert.Equal(100.0 * 3.333 / 5.667, tasks["relative_score"]!.GetValue<double>(), 5);
        Assert.Equal(56.67, tasks["reference_score"]!.GetValue<double>(), 5);
        Assert.Equal(0, tasks["failed"]!.GetValue<double>());
        var complex = File.ReadAllLines(Path.Combine(run.Path, "samples", "llava_bench.jsonl")).Select(l => JsonNode.Parse(l)!).Single(n => n["id"]!.GetValue<string>() == "2");
        Assert.Equal(-1, complex["score"]!.GetValue<double>());
        Assert.Equal(-1, complex["reference_score"]!.GetValue<double>());

        // The request follows LLaVA's layout: system prompt, context captions, reference as Assistant 1.
        var first = server.Requests[0];
        Assert.Equal(JudgePrompts.LlavaBenchSystem, first["messages"]![0]!["content"]!.GetValue<string>());
        var user = first["messages"]![1]!["content"]!.GetValue<string>();
        Assert.StartsWith("[Context]\nA ball.\nOn grass.\n\n[Question]\nWhat is in the picture?\n\n[Assistant 1]\nA red ball on green grass.\n\n[End of Assistant 1]\n\n[Assistant 2]\nA ball.\n\n", user);

        // A re-run in a new folder with the same cache costs no judge call.
        var calls = server.Calls;
        using var run2 = Fixture.Temp();
        EvalRunner.Run(new FakeModel(r => "A ball."), new EvalRunOptions(["llava_bench"], data.Path, run2.Path,
            Judge: Options(server, Path.Combine(run.Path, EvalRunOptions.JudgeCacheFolder))));
        Assert.Equal(calls, server.Calls);   // every reply, even the unparseable one, is what the judge said: cached
    }

    [Fact]
    public void LlavaBench_WithoutJudge_UsesTheLabelledOfflineFallback()
    {
        using var data = Fixture.Temp();
        using var run = Fixture.Temp();
        WriteLlavaBench(data.Path);
        EvalRunner.Run(new FakeModel(r => "A red ball on green grass."), new EvalRunOptions(["llava_bench"], data.Path, run.Path));
        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(run.Path, "results.json")))!;
        var tasks = results["tasks"]!["llava_bench"]!.AsObject();
        Assert.False(tasks.ContainsKey("relative_score"));
        Assert.Equal(100.0, tasks["offline_token_f1/conv"]!.GetValue<double>(), 4);
        Assert.Contains("OFFLINE FALLBACK", results["scoring"]!["llava_bench"]!.GetValue<string>());
    }

    [Fact]
    public void MmVet_JudgedScorePerCapability_UnreadableReplyIsAskedAgainFiveTimesThenScoresZero()
    {
        using var data = Fixture.Temp();
        using var run = Fixture.Temp();
        var dir = Path.Combine(data.Path, "mm-vet");
        TestFiles.WriteImage(Path.Combine(dir, "images", "v1_0.png"));
        TestFiles.WriteJson(Path.Combine(dir, "mm-vet.json"), new Dictionary<string, object>
        {
            ["v1_0"] = new { imagename = "v1_0.png", capability = new[] { "ocr", "math" }, question = "What is x?", answer = "-1<AND>-5" },
            ["v1_1"] = new { imagename = "v1_0.png", capability = new[] { "ocr" }, question = "What is written?", answer = "hello" },
            ["v1_2"] = new { imagename = "v1_0.png", capability = new[] { "rec" }, question = "What is it?", answer = "a cat" },
        });
        using var server = new JudgeServer((_, req) =>
        {
            var q = req["messages"]![0]!["content"]!.GetValue<string>();
            return q.EndsWith("What is x? | -1 <AND> -5 | x = -1 | ") ? (200, JudgeServer.Reply("0.5"), 0)
                 : q.Contains("What is written?") ? (200, JudgeServer.Reply("1.0"), 0)
                 : (200, JudgeServer.Reply("great answer"), 0);
        });
        var model = new FakeModel(r => r.Prompt.Contains("x?") ? "x = -1" : "hello");
        EvalRunner.Run(model, new EvalRunOptions(["mmvet"], data.Path, run.Path, Judge: Options(server)));
        var t = JsonNode.Parse(File.ReadAllText(Path.Combine(run.Path, "results.json")))!["tasks"]!["mmvet"]!;
        Assert.Equal(100.0 * 1.5 / 3, t["score"]!.GetValue<double>(), 4);
        Assert.Equal(100.0 * 1.5 / 2, t["capability_score/ocr"]!.GetValue<double>(), 4);
        Assert.Equal(50.0, t["capability_score/math"]!.GetValue<double>(), 4);
        Assert.Equal(0.0, t["capability_score/rec"]!.GetValue<double>(), 4);
        Assert.Equal(0, t["failed"]!.GetValue<double>());
        Assert.Equal(0.0, server.Requests[0]["temperature"]!.GetValue<double>());
        // mm-vet_evaluator.py: "great answer" is not a number, so it asks again with the digit prompt at temperatures
        // 0, 0.5, 1, 1.5 and 2, and gives 0 after the fifth retry without reading its reply.
        var rec = server.Requests.Where(r => r["messages"]![0]!["content"]!.GetValue<string>().Contains("What is it?")).ToList();
        Assert.Equal([0.0, 0.0, 0.5, 1.0, 1.5, 2.0], rec.Select(r => r["temperature"]!.GetValue<double>()));
        Assert.All(rec.Skip(1), r => Assert.EndsWith(MmVetScorer.RetrySuffix, r["messages"]![0]!["content"]!.GetValue<string>()));
        Assert.StartsWith("Compare the ground truth and prediction", server.Requests[0]["messages"]![0]!["content"]!.GetValue<string>());
    }

    [Fact]
    public void Score_LlavaBenchAnswerFile_FindsTheReferencesBesideTheQuestions()
    {
        using var data = Fixture.Temp();
        WriteLlavaBench(data.Path);
        var dir = Path.Combine(data.Path, "llava-bench-in-the-wild");
        TestFiles.WriteJsonl(data.File("answers.jsonl"), [
            new { question_id = 0, text = "A red ball on green grass." },
            new { question_id = 1, text = "nothing alike" },
        ]);
        var run = PredictionScorer.Score(Eval.Tasks.TaskCatalog.Load().Get("llava_bench"), Path.Combine(dir, "questions.jsonl"), data.File("answers.jsonl"),
            new ScoreOptions(AllowPartial: true));
        var m = run.Tasks[0].Metrics;
        Assert.Equal(100.0, m["offline_token_f1/conv"], 6);
        Assert.Equal(1, m["failed"]);   // question 2 has no prediction
    }

    [Fact]
    public void JudgeOptions_NeedAModelFromTheEnvironment()
    {
        Assert.Null(JudgeOptions.FromEnvironment(null, k => k == JudgeOptions.OpenAiKeyVariable ? "sk" : null));
        var o = JudgeOptions.FromEnvironment("c", k => k switch { "MULTILORA_JUDGE_MODEL" => "gpt-4o", "OPENAI_API_KEY" => "sk", _ => null })!;
        Assert.Equal(("gpt-4o", "sk", JudgeOptions.DefaultBaseUrl), (o.Model, o.ApiKey, o.BaseUrl));
    }
}
