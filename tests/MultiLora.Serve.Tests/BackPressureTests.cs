using System.ClientModel;
using System.Text.Json.Nodes;
using MultiLora.Serve.Engine;
using OpenAI.Chat;

namespace MultiLora.Serve.Tests;

/// <summary>Limits: a full queue answers 429, a client that goes away frees its slot, and the API key is required when set.</summary>
public sealed class BackPressureTests
{
    /// <summary>A streaming request that runs long (the server pauses 50 ms a step); returns once the server accepted it.</summary>
    static async Task<HttpResponseMessage> StartLongStream(TestServer server)
    {
        var body = TestServer.Greedy(TestServer.BaseId, "tell me everything", image: false, maxTokens: 400, tokenIds: false);
        body["stream"] = true;
        body["ignore_eos"] = true;
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.V1, "chat/completions")) { Content = new StringContent(body.ToJsonString()) };
        var response = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)response.StatusCode);
        return response;
    }

    [Fact]
    public async Task FullQueue_Is429_AndAClientThatLeavesFreesItsSlot()
    {
        await using var server = await TestServer.StartAsync(new ServeOptions(Scheduler: new SchedulerOptions(MaxBatch: 1, MaxQueue: 1, StepDelay: TimeSpan.FromMilliseconds(50))), adapters: []);
        var running = await StartLongStream(server);    // decoding
        var waiting = await StartLongStream(server);    // queued behind it
        Assert.Equal(2, server.Host.Scheduler.InFlight);

        var e = Assert.Throws<ClientResultException>(() => server.Chat(TestServer.BaseId).CompleteChat([new UserChatMessage("hi")]));
        Assert.Equal(429, e.Status);
        var (status, json, response) = await server.Post("chat/completions", TestServer.Greedy(TestServer.BaseId, "hi", false, 4));
        Assert.Equal(429, status);
        Assert.Equal("rate_limit_exceeded", json!["error"]!["code"]!.GetValue<string>());
        Assert.Equal("1", response.Headers.RetryAfter!.ToString());

        // both clients hang up mid-stream: their slots are free by the next decode steps
        running.Dispose();
        waiting.Dispose();
        await WaitUntil(() => server.Host.Scheduler.InFlight == 0, TimeSpan.FromSeconds(20));
        var reply = server.Chat(TestServer.BaseId).CompleteChat([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 2 });
        Assert.NotNull(reply.Value);
        string metrics = "";
        await WaitUntil(() => (metrics = server.Http.GetStringAsync("/metrics").GetAwaiter().GetResult())
            .Contains($"multilora_requests_total{{model=\"{TestServer.BaseId}\",status=\"499\"}} 2"), TimeSpan.FromSeconds(10));
        Assert.Contains($"multilora_requests_total{{model=\"{TestServer.BaseId}\",status=\"429\"}} 2", metrics);
    }

    [Fact]
    public async Task ApiKey_IsRequiredOnTheApi_NotOnHealthOrThePage()
    {
        await using var server = await TestServer.StartAsync(new ServeOptions(ApiKey: "s3cret"), adapters: []);
        var none = await server.Http.GetAsync("/v1/models");
        Assert.Equal(401, (int)none.StatusCode);
        var error = JsonNode.Parse(await none.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("invalid_api_key", error["code"]!.GetValue<string>());

        var wrong = Assert.Throws<ClientResultException>(() => server.Chat(TestServer.BaseId, apiKey: "guess").CompleteChat([new UserChatMessage("hi")]));
        Assert.Equal(401, wrong.Status);
        var right = server.Chat(TestServer.BaseId, apiKey: "s3cret").CompleteChat([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 2 });
        Assert.Equal(TestServer.BaseId, right.Value.Model);

        Assert.Equal(200, (int)(await server.Http.GetAsync("/health")).StatusCode);
        Assert.Equal(200, (int)(await server.Http.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task Metrics_ArePrometheusText_ByModel()
    {
        await using var server = await TestServer.StartAsync(adapters: [(TestAdapters.Up, TestAdapters.UpPath)]);
        foreach (var model in new[] { TestServer.BaseId, TestAdapters.Up })
            Assert.Equal(200, (await server.Post("chat/completions", TestServer.Greedy(model, "hi", true, 3))).Status);
        var response = await server.Http.GetAsync("/metrics");
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.ToString());
        string text = await response.Content.ReadAsStringAsync();
        foreach (var name in new[] { "multilora_queue_depth", "multilora_running_requests", "multilora_batch_size_bucket",
                     $"multilora_time_to_first_token_seconds_count{{model=\"{TestAdapters.Up}\"}} 1", $"multilora_generation_tokens_total{{model=\"{TestServer.BaseId}\"}}",
                     $"multilora_requests_total{{model=\"{TestAdapters.Up}\",status=\"200\"}} 1", "multilora_request_tokens_per_second_bucket" })
            Assert.Contains(name, text);
    }

    internal static async Task WaitUntil(Func<bool> condition, TimeSpan limit)
    {
        var until = DateTime.UtcNow + limit;
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"condition not met within {limit.TotalSeconds} s");
            await Task.Delay(20);
        }
    }
}
