using System.CommandLine;
using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Sessions;
using MultiLora.Lora.Quantization;
using Spectre.Console;

namespace MultiLora.Cli.Commands;

/// <summary>
/// `multilora quantize --model DIR --out DIR [--type nf4|int8]`: a checkpoint with the language model's linears
/// quantized. They are quantized while loading, one at a time, so a model too big for memory in full precision converts.
/// </summary>
static class QuantizeCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        var output = new Option<string>("--out") { Description = "Folder for the quantized checkpoint.", Required = true };
        var type = new Option<string>("--type") { Description = "nf4 (4-bit, double quantization: QLoRA's base) or int8.", DefaultValueFactory = _ => "nf4" };
        var cmd = new Command("quantize", "Quantize the language model's linears (bitsandbytes-compatible keys) and write the checkpoint.");
        model.AddTo(cmd);
        cmd.Options.Add(output);
        cmd.Options.Add(type);
        cmd.SetAction(p =>
        {
            var quant = ModelOptions.ParseQuant(p.GetValue(type)!, "--type");
            var options = model.Read(p) with { Quantize = quant };
            using var session = LlavaSession.Open(options);
            int count = session.Model.modules().Count(m => m is IQuantizedLinear);
            QuantizedLlava.Save(p.GetValue(output)!, session.Model, quant, options.Source.CompanionDirs, options.DType);
            AnsiConsole.MarkupLineInterpolated($"quantized {count} linears ({p.GetValue(type)}); wrote {p.GetValue(output)}");
            return 0;
        });
        return cmd;
    }
}
