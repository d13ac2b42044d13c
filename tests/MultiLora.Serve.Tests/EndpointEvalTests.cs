using System.Text.Json.Nodes;
using MultiLora.Cli;
using MultiLora.Tests.Common;

namespace MultiLora.Serve.Tests;

/// <summary>`multilora eval --endpoint` against our own server scores exactly as in-process `multilora eval` on the same model.</summary>
[Collection(CliCollection.Name)]
public sealed class EndpointEvalTests
{
    /// <summary>Small POPE and MMBench files in their official formats (one POPE image missing: a failed sample in both runs).</summary>
    static void WriteData(string root) => EvalTaskData.Write(root,
    [
        new(1, "square.png", "Is there a square in the image?", "yes"),
        new(2, "square.png", "Is there a dog in the image?", "no"),
        new(3, "square.png", "Is the square red?", "yes"),
        new(4, "missing.png", "Is there a cat in the image?", "no"),
    ],
    [
        new("What color is the square?", "nan", "red", "blue", "green", "nan", "A", "color"),
        new("What shape is shown?", "A picture.", "circle", "square", "nan", "nan", "B", "shape"),
    ]);

    [Theory]
    [InlineData(null)]
    [InlineData(TestAdapters.Up)]
    public async Task EvalThroughOurServer_GivesTheInProcessPredictionsAndScores(string? adapter)
    {
        using var tmp = Fixture.Temp();
        WriteData(tmp.Path);
        string local = Path.Combine(tmp.Path, "local"), remote = Path.Combine(tmp.Path, "remote");
        string[] common = ["--tasks", "pope,mmbench", "--data-root", tmp.Path];

        // in-process eval decodes each prompt alone (batch size 1): its left-padded batches round differently from a prompt
        // alone (one matrix product over several rows), while the server computes every row as it would be alone
        string[] localArgs = ["eval", "--model", Fixture.Path("model"), .. common, "--out", local, "--batch-size", "1"];
        if (adapter is not null) localArgs = [.. localArgs, "--adapter", TestAdapters.DirOf(adapter)];
        Assert.Equal(0, CliApp.Run(localArgs));

        await using (var server = await TestServer.StartAsync())
            Assert.Equal(0, CliApp.Run(["eval", "--endpoint", server.V1.ToString(), "--endpoint-model", adapter ?? TestServer.BaseId,
                .. common, "--out", remote, "--concurrency", "4"]));

        foreach (var task in new[] { "pope", "mmbench" })
        {
            var a = Samples(local, task);
            var b = Samples(remote, task);
            Assert.Equal(a.Keys.Order(), b.Keys.Order());
            foreach (var (id, record) in a)
            {
                Assert.Equal(record["status"]!.GetValue<string>(), b[id]["status"]!.GetValue<string>());
                Assert.Equal(record["prediction"]?.GetValue<string>(), b[id]["prediction"]?.GetValue<string>());
                Assert.Equal(record["score"]?.GetValue<double>(), b[id]["score"]?.GetValue<double>());
            }
            Assert.Contains(a.Values, r => r["status"]!.GetValue<string>() == "ok");
            var metricsA = Results(local)["tasks"]![task]!.AsObject();
            var metricsB = Results(remote)["tasks"]![task]!.AsObject();
            Assert.Equal(metricsA.ToJsonString(), metricsB.ToJsonString());
        }
        Assert.Contains("/v1", Results(remote)["model"]!.GetValue<string>());
    }

    [Fact]
    public void Endpoint_AndALocalModel_AreRefusedTogether()
    {
        Assert.Equal(1, CliApp.Run(["eval", "--endpoint", "http://127.0.0.1:1/v1", "--endpoint-model", "x", "--model", Fixture.Path("model"), "--tasks", "pope"]));
        Assert.Equal(1, CliApp.Run(["eval", "--endpoint", "http://127.0.0.1:1/v1", "--tasks", "pope"]));   // no --endpoint-model
    }

    static Dictionary<string, JsonNode> Samples(string run, string task) =>
        File.ReadAllLines(Path.Combine(run, "samples", task + ".jsonl")).Select(l => JsonNode.Parse(l)!)
            .ToDictionary(n => n["id"]!.GetValue<string>());

    static JsonNode Results(string run) => JsonNode.Parse(File.ReadAllText(Path.Combine(run, "results.json")))!;
}

[CollectionDefinition(Name)]
public sealed class CliCollection
{
    public const string Name = "cli";
}
