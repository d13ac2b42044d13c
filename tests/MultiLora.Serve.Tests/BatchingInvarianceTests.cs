using MultiLora.Serve.Engine;

namespace MultiLora.Serve.Tests;

/// <summary>
/// Continuous batching must not change answers: each request of a mixed batch (base and two adapters, prompts of
/// different lengths, with and without an image, joining while others decode) gets exactly the tokens it gets alone,
/// which are the tokens `multilora generate` gives.
/// </summary>
public sealed class BatchingInvarianceTests
{
    static readonly string?[] Models = [null, TestAdapters.Up, TestAdapters.Down];
    static readonly string[] Texts = ["What color is the square?", "hi", "Describe everything you can see in this picture, in detail.", "Is it a circle?"];

    static (string? Adapter, string Text, bool Image, int MaxTokens) Request(int i) =>
        (Models[i % 3], Texts[i % 4], i % 2 == 0, 16 + (i * 5) % 17);

    [Fact]
    public async Task SixteenConcurrentGreedyRequests_MixingBaseAndTwoAdapters_GiveTheTokensEachGivesAlone()
    {
        await using var server = await TestServer.StartAsync(new ServeOptions(Scheduler: new SchedulerOptions(MaxBatch: 16, StepDelay: TimeSpan.FromMilliseconds(15))));
        const int n = 16;

        async Task<int[]> Send(int i)
        {
            var r = Request(i);
            var (status, body, _) = await server.Post("chat/completions", TestServer.Greedy(r.Adapter ?? TestServer.BaseId, r.Text, r.Image, r.MaxTokens));
            Assert.True(status == 200, body?.ToJsonString());
            return TestServer.TokenIds(body!);
        }

        var alone = new List<int[]>();
        for (int i = 0; i < n; i++) alone.Add(await Send(i));
        Assert.Equal(1, server.Host.Scheduler.Stats.PeakBatch);

        // all at once, staggered by 25 ms so that most join a batch that is already decoding
        var together = await Task.WhenAll(Enumerable.Range(0, n).Select(async i =>
        {
            await Task.Delay(25 * i);
            return await Send(i);
        }));

        for (int i = 0; i < n; i++)
            Assert.True(alone[i].SequenceEqual(together[i]), $"request {i} {Request(i)}: alone [{string.Join(",", alone[i])}], batched [{string.Join(",", together[i])}]");
        Assert.True(server.Host.Scheduler.Stats.PeakBatch >= 8, $"peak batch {server.Host.Scheduler.Stats.PeakBatch}: the requests did not overlap");
        Assert.Equal(3, server.Host.Scheduler.Stats.PeakAdaptersInStep);

        // and alone is what generate gives
        for (int i = 0; i < n; i++)
        {
            var r = Request(i);
            Assert.Equal(Reference.Generate(r.Adapter, r.Text, r.Image, r.MaxTokens).Tokens, alone[i]);
        }
    }
}
