using System.CommandLine;
using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Sessions;
using MultiLora.Lora.Quantization;
using Spectre.Console;

namespace MultiLora.Cli.Commands;

/// <summary>`multilora quantize --model DIR --out DIR [--type nf4|int8]`: a checkpoint with the language model's linears quantized.</summary>
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
            var options = model.Read(p);
            var quant = new QuantConfig
            {
                Type = p.GetValue(type) switch
                {
                    "nf4" => QuantType.Nf4,
                    "int8" => QuantType.Int8,
                    var t => throw new ArgumentException($"--type {t}: expected nf4 or int8"),
                },
            };
            using var session = LlavaSession.Open(options);
            var paths = Quantizer.QuantizeLinears(session.Model, "model.language_model.", quant);
            QuantizedLlava.Save(p.GetValue(output)!, session.Model, quant, options.Source.CompanionDirs, options.DType);
            AnsiConsole.MarkupLineInterpolated($"quantized {paths.Count} linears ({p.GetValue(type)}); wrote {p.GetValue(output)}");
            return 0;
        });
        return cmd;
    }
}
