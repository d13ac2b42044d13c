using System.Text.Json.Nodes;
using MultiLora.Eval.Running;
using MultiLora.Tests.Common;

namespace MultiLora.Eval.Tests;

public class ResumeTests
{
    static JsonNode Tasks(string dir) => JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!["tasks"]!;

    [Fact]
    public void ResumedRun_GivesTheSameMetricsAsAnUninterruptedRun()
    {
        using var data = Fixture.Temp();
        using var full = Fixture.Temp();
        using var resumed = Fixture.Temp();
        TestFiles.WritePope(data.Path);
        TestFiles.WriteMmbench(data.Path);
        string Reply(EvalRequest r) => r.Prompt.Contains("in the image?") ? TestFiles.PopeReply(r.Prompt) : TestFiles.MmbenchReply(r.Prompt);
        string[] tasks = ["pope", "mmbench"];

        EvalRunner.Run(new FakeModel(Reply), new EvalRunOptions(tasks, data.Path, full.Path, BatchSize: 1));

        // Interrupt after k = 3 samples: the token is cancelled once the third batch is done.
        using var cts = new CancellationTokenSource();
        var interrupted = new FakeModel(Reply) { AfterBatch = n => { if (n == 3) cts.Cancel(); } };
        Assert.ThrowsAny<OperationCanceledException>(() => EvalRunner.Run(interrupted, new EvalRunOptions(tasks, data.Path, resumed.Path, BatchSize: 1), cts.Token));
        Assert.Equal(3, File.ReadAllLines(Path.Combine(resumed.Path, "samples", "pope.jsonl")).Length);
        // A line torn by the interruption is dropped and redone.
        File.AppendAllText(Path.Combine(resumed.Path, "samples", "pope.jsonl"), "{\"task\":\"pope\",\"id\":\"4\",\"sta");

        var second = new FakeModel(Reply);
        EvalRunner.Run(second, new EvalRunOptions(tasks, data.Path, resumed.Path, BatchSize: 1));
        Assert.Equal(2 + 5, second.Requests);   // the 2 POPE samples left, then all of MMBench
        Assert.Equal(Tasks(full.Path).ToJsonString(), Tasks(resumed.Path).ToJsonString());

        var third = new FakeModel(Reply);
        EvalRunner.Run(third, new EvalRunOptions(tasks, data.Path, resumed.Path, BatchSize: 1));
        Assert.Equal(0, third.Requests);        // everything done: a re-run generates nothing
        Assert.Equal(5, File.ReadAllLines(Path.Combine(resumed.Path, "samples", "pope.jsonl")).Length);
    }

    [Fact]
    public void SampleLog_BrokenLineInTheMiddleIsAnErrorNamingTheLine()
    {
        using var run = Fixture.Temp();
        var path = run.File("x.jsonl");
        File.WriteAllText(path, "{\"task\":\"t\",\"id\":\"1\",\"status\":\"ok\",\"prompt\":\"\",\"reference\":\"\"}\nnot json\n{\"task\":\"t\",\"id\":\"2\",\"status\":\"ok\",\"prompt\":\"\",\"reference\":\"\"}\n");
        var e = Assert.Throws<InvalidDataException>(() => SampleLog.Open(path));
        Assert.Contains("x.jsonl:2", e.Message);
    }
}
