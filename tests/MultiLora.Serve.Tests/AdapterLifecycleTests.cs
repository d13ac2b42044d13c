using System.Text.Json.Nodes;
using MultiLora.Serve.Engine;

namespace MultiLora.Serve.Tests;

/// <summary>vLLM's runtime adapter endpoints: load, use, refuse to unload while used, unload.</summary>
public sealed class AdapterLifecycleTests
{
    [Fact]
    public async Task LoadedAtRunTime_Serves_IsNotUnloadedWhileInUse_ThenUnloads()
    {
        await using var server = await TestServer.StartAsync(new ServeOptions(Scheduler: new SchedulerOptions(StepDelay: TimeSpan.FromMilliseconds(30))), adapters: []);
        var load = new JsonObject { ["lora_name"] = "late", ["lora_path"] = TestAdapters.ProjectorPath };
        var (status, _, response) = await server.Post("load_lora_adapter", load);
        Assert.Equal(200, status);
        Assert.Equal("Success: LoRA adapter 'late' added successfully.", await response.Content.ReadAsStringAsync());
        Assert.Contains("\"late\"", await server.Http.GetStringAsync("/v1/models"));

        var (again, error, _) = await server.Post("load_lora_adapter", load);
        Assert.Equal(400, again);
        Assert.Contains("already loaded", error!["error"]!["message"]!.GetValue<string>());
        var (badPath, badError, _) = await server.Post("load_lora_adapter", new JsonObject { ["lora_name"] = "x", ["lora_path"] = "/no/such/folder" });
        Assert.Equal(400, badPath);
        Assert.Equal("lora_path", badError!["error"]!["param"]!.GetValue<string>());

        // answers as generate --adapter does (its own projector included)
        var expected = Reference.Generate(TestAdapters.WithProjector, "What color is the square?", true, 10);
        var (ok, body, _) = await server.Post("chat/completions", TestServer.Greedy("late", "What color is the square?", true, 10));
        Assert.Equal(200, ok);
        Assert.Equal(expected.Tokens, TestServer.TokenIds(body!));
        // and the base keeps its own projector
        var (_, baseBody, _) = await server.Post("chat/completions", TestServer.Greedy(TestServer.BaseId, "What color is the square?", true, 10));
        Assert.Equal(Reference.Generate(null, "What color is the square?", true, 10).Tokens, TestServer.TokenIds(baseBody!));

        // a long request holds the adapter: unloading it is refused until it is done
        var streaming = TestServer.Greedy("late", "tell me more", false, 60, tokenIds: false);
        streaming["ignore_eos"] = true;
        var running = server.Post("chat/completions", streaming);
        await BackPressureTests.WaitUntil(() => server.Host.Scheduler.InFlight == 1, TimeSpan.FromSeconds(10));
        var (busy, busyError, _) = await server.Post("unload_lora_adapter", new JsonObject { ["lora_name"] = "late" });
        Assert.Equal(409, busy);
        Assert.Contains("in use", busyError!["error"]!["message"]!.GetValue<string>());
        Assert.Equal(200, (await running).Status);

        var (unloaded, _, unloadResponse) = await server.Post("unload_lora_adapter", new JsonObject { ["lora_name"] = "late" });
        Assert.Equal(200, unloaded);
        Assert.Equal("Success: LoRA adapter 'late' removed successfully.", await unloadResponse.Content.ReadAsStringAsync());
        Assert.DoesNotContain("\"late\"", await server.Http.GetStringAsync("/v1/models"));
        Assert.Equal(404, (await server.Post("chat/completions", TestServer.Greedy("late", "hi", false, 2))).Status);
        Assert.Equal(404, (await server.Post("unload_lora_adapter", new JsonObject { ["lora_name"] = "late" })).Status);
        // the base is untouched by the adapter's coming and going
        var (_, after, _) = await server.Post("chat/completions", TestServer.Greedy(TestServer.BaseId, "What color is the square?", true, 10));
        Assert.Equal(TestServer.TokenIds(baseBody!), TestServer.TokenIds(after!));
    }

    /// <summary>
    /// A load runs between two decode steps while prompts are prefilled on their own thread: it waits for the prompt in
    /// progress, the next waits for it, and nobody's answer changes, not even the ones for the adapter it brings (with
    /// its own projector, installed for each of its image prompts).
    /// </summary>
    [Fact]
    public async Task AnAdapterLoadedWhileRequestsPrefillAndDecode_LeavesEveryAnswerAsGenerateGivesIt()
    {
        await using var server = await TestServer.StartAsync(new ServeOptions(Scheduler: new SchedulerOptions(MaxBatch: 8, StepDelay: TimeSpan.FromMilliseconds(10))),
            adapters: [(TestAdapters.Up, TestAdapters.UpPath), (TestAdapters.Down, TestAdapters.DownPath)]);
        string?[] models = [null, TestAdapters.Up, TestAdapters.Down];
        async Task<(string? Adapter, bool Image, int[] Tokens)> Send(string? adapter, bool image, int delayMs)
        {
            await Task.Delay(delayMs);
            var (status, body, _) = await server.Post("chat/completions", TestServer.Greedy(adapter ?? TestServer.BaseId, "What color is the square?", image, 12));
            Assert.True(status == 200, body?.ToJsonString());
            return (adapter, image, TestServer.TokenIds(body!));
        }

        var before = Enumerable.Range(0, 9).Select(i => Send(models[i % 3], i % 2 == 0, 15 * i)).ToList();
        await Task.Delay(40);
        var load = server.Post("load_lora_adapter", new JsonObject { ["lora_name"] = TestAdapters.WithProjector, ["lora_path"] = TestAdapters.ProjectorPath });
        var after = Enumerable.Range(0, 6).Select(async i =>
        {
            await BackPressureTests.WaitUntil(() => load.IsCompleted, TimeSpan.FromSeconds(30));
            return await Send(i % 2 == 0 ? TestAdapters.WithProjector : models[i % 3], true, 10 * i);
        }).ToList();
        Assert.Equal(200, (await load).Status);
        foreach (var (adapter, image, tokens) in await Task.WhenAll(before.Concat(after)))
            Assert.Equal(Reference.Generate(adapter, "What color is the square?", image, 12).Tokens, tokens);
        Assert.True(server.Host.Scheduler.Stats.PeakBatch >= 3, $"peak batch {server.Host.Scheduler.Stats.PeakBatch}: the requests did not overlap");
    }

    [Fact]
    public async Task AnAdapterSavingLanguageModelWeights_IsRefusedWithTheReason()
    {
        await using var server = await TestServer.StartAsync(adapters: []);
        using var tmp = MultiLora.Tests.Common.Fixture.Temp();
        File.Copy(Path.Combine(TestAdapters.FixtureDir, "adapter_config.json"), tmp.File("adapter_config.json"));
        using (var scope = TorchSharp.torch.NewDisposeScope())
        using (var model = MultiLora.Core.Safetensors.SafetensorsFile.Open(MultiLora.Tests.Common.Fixture.Path("model", "model.safetensors")))
        using (var lora = MultiLora.Core.Safetensors.SafetensorsFile.Open(Path.Combine(TestAdapters.FixtureDir, "adapter_model.safetensors")))
        {
            var head = model.Tensors.Keys.First(k => k.EndsWith("lm_head.weight", StringComparison.Ordinal));
            var tensors = lora.Tensors.Keys.Select(k => KeyValuePair.Create(k, lora.Load(k))).Append(KeyValuePair.Create("base_model.model.lm_head.weight", model.Load(head)));
            MultiLora.Core.Safetensors.SafetensorsWriter.Write(tmp.File("adapter_model.safetensors"), tensors);
        }
        var (status, error, _) = await server.Post("load_lora_adapter", new JsonObject { ["lora_name"] = "head", ["lora_path"] = tmp.Path });
        Assert.Equal(400, status);
        Assert.Contains("lm_head.weight", error!["error"]!["message"]!.GetValue<string>());
        Assert.Equal(200, (await server.Post("chat/completions", TestServer.Greedy(TestServer.BaseId, "hi", true, 2))).Status);
    }
}
