using System.CommandLine;
using MultiLora.Data.Images;
using MultiLora.Llava.Sessions;
using Spectre.Console;

namespace MultiLora.Cli.Commands;

/// <summary>`multilora generate`: one prompt, an optional image, the reply on stdout.</summary>
static class GenerateCommand
{
    public static Command Create()
    {
        var model = new ModelOptions(quantizable: true);
        var decoding = new DecodingOptions();
        var image = new Option<string?>("--image") { Description = "An image file (PNG, JPEG, BMP, GIF)." };
        var prompt = new Option<string>("--prompt") { Description = "The user message.", Required = true };
        var raw = new Option<bool>("--raw") { Description = "Use --prompt as the full model input (no template); put <image> where the image goes." };
        var cmd = new Command("generate", "Generate a reply to one prompt, with an optional image.");
        model.AddTo(cmd);
        decoding.AddTo(cmd);
        cmd.Options.Add(image);
        cmd.Options.Add(prompt);
        cmd.Options.Add(raw);
        cmd.SetAction(p =>
        {
            var picture = p.GetValue(image) is { } path ? ImageDecoder.DecodeFile(path) : null;
            using var session = AnsiConsole.Status().Start("loading model...", _ => LlavaSession.Open(model.Read(p)));
            string text = p.GetValue(raw) ? p.GetValue(prompt)! : session.Prompt([], p.GetValue(prompt)!, picture is not null);
            if (p.GetValue(raw) && picture is not null && !text.Contains("<image>", StringComparison.Ordinal))
                throw new ArgumentException("--raw with --image: the prompt must contain <image> where the image goes");
            var reply = session.Generate([(text, picture)], decoding.Read(p), templated: !p.GetValue(raw))[0];
            Console.WriteLine(reply);
            return 0;
        });
        return cmd;
    }
}
