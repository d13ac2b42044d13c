using System.CommandLine;
using MultiLora.Core.Safetensors;
using MultiLora.Data.Images;
using MultiLora.Llava.Generation;
using MultiLora.Llava.Sessions;
using Spectre.Console;
using static TorchSharp.torch;

namespace MultiLora.Cli.Commands;

/// <summary>
/// `multilora forward`: runs a raw prompt (no template) through the model and saves input_ids, logits
/// (float32) and optionally greedy generated_ids to safetensors, for parity checks against other implementations.
/// </summary>
static class ForwardCommand
{
    public static Command Create()
    {
        var model = new ModelOptions(quantizable: true);
        var image = new Option<string?>("--image") { Description = "An image file; the prompt must contain <image>." };
        var prompt = new Option<string>("--prompt") { Description = "The full model input, e.g. \"USER: <image>\\nWhat is shown? ASSISTANT:\".", Required = true };
        var save = new Option<string>("--save") { Description = "Output .safetensors file.", Required = true };
        var generate = new Option<int>("--generate") { Description = "Also save this many greedy new tokens as generated_ids.", DefaultValueFactory = _ => 0 };
        var cmd = new Command("forward", "Save input_ids and logits (and generated_ids) of one prompt for parity checks.");
        model.AddTo(cmd);
        foreach (var o in new Option[] { image, prompt, save, generate }) cmd.Options.Add(o);
        cmd.SetAction(p =>
        {
            var picture = p.GetValue(image) is { } path ? ImageDecoder.DecodeFile(path) : null;
            using var session = LlavaSession.Open(model.Read(p));
            using var scope = NewDisposeScope();
            var ids = session.PromptIds(p.GetValue(prompt)!);
            var pixels = session.Pixels(picture is null ? [] : [picture]);
            var inputIds = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]);
            Tensor logits;
            using (no_grad())
                logits = session.Model.Forward(inputIds.to(session.Device), pixels).to(ScalarType.Float32).cpu();
            var outputs = new Dictionary<string, Tensor> { ["input_ids"] = inputIds, ["logits"] = logits };
            if (pixels is not null) outputs["pixel_values"] = pixels.to(ScalarType.Float32).cpu();
            int n = p.GetValue(generate);
            if (n > 0)
            {
                var generated = LlavaGenerator.Generate(session.Model, [ids], pixels, session.WithStops(new GenerationOptions(MaxNewTokens: n)));
                outputs["generated_ids"] = tensor(generated[0].Select(i => (long)i).ToArray(), [1, generated[0].Length]);
            }
            SafetensorsWriter.Write(p.GetValue(save)!, outputs, new Dictionary<string, string> { ["format"] = "pt", ["prompt"] = p.GetValue(prompt)!, ["model"] = session.Options.Source.ToString() });
            AnsiConsole.MarkupLineInterpolated($"saved {string.Join(", ", outputs.Keys)} to {p.GetValue(save)} (logits [[{string.Join(", ", logits.shape)}]])");
            return 0;
        });
        return cmd;
    }
}
