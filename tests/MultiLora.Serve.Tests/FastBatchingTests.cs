using MultiLora.Serve.Engine;

namespace MultiLora.Serve.Tests;

/// <summary>--fast-batching: one matrix product over the batch and masked attention; it batches and answers every request in full.</summary>
public sealed class FastBatchingTests
{
    [Fact]
    public async Task FastBatching_ServesMixedConcurrentRequests()
    {
        await using var server = await TestServer.StartAsync(new ServeOptions(Scheduler: new SchedulerOptions(StepDelay: TimeSpan.FromMilliseconds(30), BatchInvariant: false)));
        string?[] models = [null, TestAdapters.Up, TestAdapters.Down, TestAdapters.WithProjector];
        var replies = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
        {
            await Task.Delay(20 * i);
            var body = TestServer.Greedy(models[i % 4] ?? TestServer.BaseId, i % 2 == 0 ? "What color is the square?" : "hi", image: i % 3 != 0, maxTokens: 12 + i);
            body["ignore_eos"] = true;
            var (status, json, _) = await server.Post("chat/completions", body);
            Assert.True(status == 200, json?.ToJsonString());
            return TestServer.TokenIds(json!);
        }));
        for (int i = 0; i < replies.Length; i++) Assert.Equal(12 + i, replies[i].Length);
        Assert.True(server.Host.Scheduler.Stats.PeakBatch >= 4, $"peak batch {server.Host.Scheduler.Stats.PeakBatch}");
        Assert.Equal(4, server.Host.Scheduler.Stats.PeakAdaptersInStep);
    }
}
