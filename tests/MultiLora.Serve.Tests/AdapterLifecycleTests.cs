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
