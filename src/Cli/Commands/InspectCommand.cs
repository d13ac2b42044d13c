using System.CommandLine;
using System.Globalization;
using MultiLora.Core.Runtime;
using MultiLora.Llava.Inspection;
using MultiLora.Llava.Model;
using MultiLora.Language;
using MultiLora.Vision;
using Spectre.Console;

namespace MultiLora.Cli.Commands;

/// <summary>`multilora inspect`: what a checkpoint folder holds, from its config and safetensors headers (no weights loaded).</summary>
static class InspectCommand
{
    public static Command Create()
    {
        var folder = new Argument<string>("folder") { Description = "A llava, CLIP or Llama checkpoint folder." };
        var cmd = new Command("inspect", "Show a checkpoint's architecture, parameter counts per part and dtypes.");
        cmd.Arguments.Add(folder);
        cmd.SetAction(p =>
        {
            string dir = p.GetValue(folder)!;
            if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir}: folder not found");
            DescribeConfig(Path.Combine(dir, "config.json"));
            var summary = CheckpointSummary.Read(dir);
            var table = new Table().AddColumns("part", "tensors", "parameters", "bytes", "dtypes");
            foreach (var part in summary.Parts)
                table.AddRow(part.Part, part.Tensors.ToString(CultureInfo.InvariantCulture), Count(part.Parameters), Bytes(part.Bytes),
                    string.Join(", ", part.ParametersByDType.Select(kv => $"{kv.Key} {Count(kv.Value)}")));
            table.AddRow("[bold]total[/]", "", Count(summary.TotalParameters), Bytes(summary.Parts.Sum(x => x.Bytes)), "");
            AnsiConsole.Write(table);
            foreach (var (file, bytes) in summary.Files) AnsiConsole.MarkupLineInterpolated($"[grey]{file}: {Bytes(bytes)}[/]");
            foreach (var (k, v) in summary.Metadata) AnsiConsole.MarkupLineInterpolated($"[grey]metadata {k} = {v}[/]");
            AnsiConsole.MarkupLineInterpolated($"[grey]torch runtime: {TorchRuntimeDescription()}[/]");
            return 0;
        });
        return cmd;
    }

    static string TorchRuntimeDescription()
    {
        TorchRuntime.EnsureLoaded();
        return TorchRuntime.Description;
    }

    static void DescribeConfig(string configPath)
    {
        var type = Core.Config.JsonConfig.Load(configPath).String("model_type", "?");
        switch (type)
        {
            case "llava":
                var c = LlavaConfig.Load(configPath);
                AnsiConsole.MarkupLineInterpolated($"[bold]LLaVA[/]: image token {c.ImageTokenId}, {c.ImageTokens()} image tokens per image, vision_feature_layer {c.VisionFeatureLayer}, select {c.FeatureSelect}, projector {c.ProjectorType} ({c.ProjectorAct})");
                Describe(c.Vision);
                Describe(c.Text);
                break;
            case "clip" or "clip_vision_model":
                Describe(ClipVisionConfig.FromJson(Core.Config.JsonConfig.Load(configPath)));
                break;
            default:
                Describe(LlamaConfig.Load(configPath));
                break;
        }
    }

    static void Describe(ClipVisionConfig v) => AnsiConsole.MarkupLineInterpolated(
        $"[bold]vision[/]: CLIP ViT {v.NumLayers} layers, hidden {v.HiddenSize}, heads {v.NumHeads}, mlp {v.IntermediateSize}, image {v.ImageSize}, patch {v.PatchSize} ({v.GridSize}x{v.GridSize} patches), {v.HiddenAct}");

    static void Describe(LlamaConfig t) => AnsiConsole.MarkupLineInterpolated(
        $"[bold]language[/]: {t.ModelType} {t.NumLayers} layers, hidden {t.HiddenSize}, heads {t.NumHeads} (kv {t.NumKeyValueHeads}, head dim {t.HeadDim}), mlp {t.IntermediateSize}, vocab {t.VocabSize}, rope {t.Rope.Type} theta {t.Rope.Theta}, tied embeddings {t.TieWordEmbeddings}");

    static string Count(long n) => n >= 1_000_000_000 ? $"{n / 1e9:0.00}B" : n >= 1_000_000 ? $"{n / 1e6:0.00}M" : n >= 1000 ? $"{n / 1e3:0.0}K" : n.ToString(CultureInfo.InvariantCulture);
    static string Bytes(long n) => n >= 1L << 30 ? $"{n / (double)(1L << 30):0.00} GiB" : n >= 1 << 20 ? $"{n / (double)(1 << 20):0.0} MiB" : $"{n / 1024.0:0.0} KiB";
}
