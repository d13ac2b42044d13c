using System.Text.Json.Nodes;
using MultiLora.Cli;
using MultiLora.Tests.Common;

namespace MultiLora.Serve.Tests;

/// <summary>`multilora eval --endpoint` against our own server scores exactly as in-process `multilora eval` on the same model.</summary>
[Collection(CliCollection.Name)]
public sealed class EndpointEvalTests
{
    /// <summary>Small POPE and MMBench files in their official formats (one POPE image missing: a failed sample in both runs).</summary>
    static void WriteData(string root)
    {
        Directory.CreateDirectory(Path.Combine(root, "pope", "val2014"));
        File.Copy(Fixture.Path("image.png"), Path.Combine(root, "pope", "val2014", "square.png"));
        // LLaVA's layout: the combined question file, and POPE's label file in pope/coco.
        Directory.CreateDirectory(Path.Combine(root, "pope", "coco"));
        File.WriteAllLines(Path.Combine(root, "pope", "coco", "coco_pope_random.json"),
        [
            """{"question_id": 1, "image": "square.png", "text": "Is there a square in the image?", "label": "yes"}""",
            """{"question_id": 2, "image": "square.png", "text": "Is there a dog in the image?", "label": "no"}""",
            """{"question_id": 3, "image": "square.png", "text": "Is the square red?", "label": "yes"}""",
            """{"question_id": 4, "image": "missing.png", "text": "Is there a cat in the image?", "label": "no"}""",
        ]);
        File.WriteAllLines(Path.Combine(root, "pope", "llava_pope_test.jsonl"),
        [
            """{"question_id": 1, "image": "square.png", "text": "Is there a square in the image?", "category": "random"}""",
            """{"question_id": 2, "image": "square.png", "text": "Is there a dog in the image?", "category": "random"}""",
            """{"question_id": 3, "image": "square.png", "text": "Is the square red?", "category": "random"}""",
            """{"question_id": 4, "image": "missing.png", "text": "Is there a cat in the image?", "category": "random"}""",
        ]);
        string image = Convert.ToBase64String(File.ReadAllBytes(Fixture.Path("image.png")));
        Directory.CreateDirectory(Path.Combine(root, "mmbench"));
        File.WriteAllLines(Path.Combine(root, "mmbench", "mmbench_dev_20230712.tsv"),
        [
            "index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\timage",
            $"0\tWhat color is the square?\tnan\tred\tblue\tgreen\tnan\tA\tcolor\t{image}",
            $"1\tWhat shape is shown?\tA picture.\tcircle\tsquare\tnan\tnan\tB\tshape\t{image}",
        ]);
    }

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
