using System.Text.Json.Nodes;
using MultiLora.Cli;
using MultiLora.Data.Synthetic;
using MultiLora.Data.Text;
using MultiLora.Language;
using MultiLora.Llava.BuiltIn;
using MultiLora.Tests.Common;

namespace MultiLora.Tests.Cli;

/// <summary>
/// A LLaVA composed of the built-in vision tower and a small fresh decoder over Qwen3's real tokenizer.json
/// (151,643 BPE tokens + its added tokens + &lt;image&gt;) and chat template: `multilora train` runs 20 steps,
/// `generate` answers, `eval` scores, all through the tokenizer.json path and the checkpoint's chat_template.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class HubTokenizerLlavaTests
{
    [Fact]
    public void QwenTokenizerLlava_TrainsGeneratesAndEvaluatesThroughTheCli()
    {
        using var tmp = Fixture.Temp();
        var tokenizerDir = HubFixtures.TokenizerDirWithImageToken("qwen3");
        var tokenizer = TokenizerLoader.Load(tokenizerDir);
        int imageId = tokenizer.TokenToId("<image>")!.Value;
        var preset = new TinyLlavaPreset(ImageSize: 16, VisionHidden: 32, VisionLayers: 2, TextHidden: 16, TextLayers: 1, TextHeads: 2, TextKvHeads: 1, TextIntermediate: 32);
        var config = preset.ToConfig();
        var vocab = (tokenizer.VocabSize + 7) / 8 * 8;
        config = config with
        {
            ImageTokenId = imageId,
            Text = config.Text with { VocabSize = vocab, BosTokenId = null, EosTokenId = tokenizer.EosId, PadTokenId = tokenizer.PadId },
        };
        string model = BuiltInModel.Write(tmp.File("base"), config, seed: 2, tokenizerDir);
        string data = tmp.File("data");
        SyntheticDatasetGenerator.Generate(data, new SynthOptions { Resolution = 16, Train = 24, Eval = 4, Seed = 5 });

        string recipe = tmp.File("recipe.yaml");
        File.WriteAllText(recipe, $$"""
            model: { path: {{model}} }
            data: { mixture: {{Path.Combine(data, SynthOutput.Stage2Spec)}}, max_length: 96, aspect: crop }
            method: full
            optim: { lr: 0.003 }
            batch_size: 1
            max_steps: 20
            seed: 1
            output_dir: {{tmp.File("run")}}
            """);
        Assert.Equal(0, CliApp.Run(["train", "--recipe", recipe]));
        var metrics = File.ReadAllLines(tmp.File("run/metrics.jsonl")).Select(l => JsonNode.Parse(l)!).Where(m => m["loss"] is not null).ToList();
        Assert.Equal(20, metrics.Count);
        var losses = metrics.Select(m => m["loss"]!.GetValue<double>()).ToList();
        Assert.All(losses, l => Assert.True(double.IsFinite(l)));
        Assert.True(losses.Skip(15).Average() < losses.Take(5).Average(), $"loss fell: {string.Join(", ", losses.Select(l => l.ToString("F2")))}");
        string final = tmp.File("run/final");
        Assert.Contains("chat_template", File.ReadAllText(Path.Combine(final, "multilora.json")));
        Assert.True(File.Exists(Path.Combine(final, "tokenizer.json")));

        var image = Directory.GetFiles(Path.Combine(data, SynthOutput.TrainImages)).First();
        // After 20 steps the reply may well be just <|im_end|> (an empty answer): the point is that it runs.
        Assert.Equal(0, CliApp.Run(["generate", "--model", final, "--image", image, "--prompt", "What color is the shape?", "--max-new-tokens", "4"]));

        string evalRun = tmp.File("eval");
        Assert.Equal(0, CliApp.Run(["eval", "--model", final, "--tasks", "synth_pope", "--data-root", data, "--out", evalRun]));
        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(evalRun, "results.json")))!;
        Assert.Equal(4, results["tasks"]!["synth_pope"]!["n"]!.GetValue<double>());
    }
}
