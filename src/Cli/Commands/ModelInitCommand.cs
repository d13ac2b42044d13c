using System.CommandLine;
using MultiLora.Llava.BuiltIn;
using Spectre.Console;

namespace MultiLora.Cli.Commands;

/// <summary>`multilora init-model --out DIR`: writes the built-in small LLaVA (fresh weights) as a checkpoint folder.</summary>
static class ModelInitCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Folder to write the checkpoint to.", Required = true };
        var seed = new Option<int>("--seed") { Description = "Initialisation seed.", DefaultValueFactory = _ => 0 };
        var imageSize = new Option<int>("--image-size") { Description = "Vision tower resolution (a multiple of the patch size 8).", DefaultValueFactory = _ => 32 };
        var cmd = new Command("init-model", "Write the built-in small LLaVA (CLIP-style tower + Llama-style decoder, fresh weights, built-in tokenizer).");
        foreach (var o in new Option[] { output, seed, imageSize }) cmd.Options.Add(o);
        cmd.SetAction(p =>
        {
            var dir = BuiltInModel.Write(p.GetValue(output)!, new TinyLlavaPreset(ImageSize: p.GetValue(imageSize)), p.GetValue(seed));
            AnsiConsole.MarkupLineInterpolated($"wrote {dir}");
            return 0;
        });
        return cmd;
    }
}
