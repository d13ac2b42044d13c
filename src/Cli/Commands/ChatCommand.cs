using System.CommandLine;
using MultiLora.Data.Images;
using MultiLora.Data.Model;
using MultiLora.Llava.Sessions;
using Spectre.Console;

namespace MultiLora.Cli.Commands;

/// <summary>
/// `multilora chat`: an interactive multi-turn conversation. `/image PATH` attaches an image to the
/// conversation (LLaVA conditions on one image, placed in the first turn that has it), `/reset` starts
/// over, `/adapter load NAME DIR` / `/adapter NAME` / `/adapter none` load and switch LoRA adapters,
/// `/exit` (or end of input) quits.
/// </summary>
static class ChatCommand
{
    public static Command Create()
    {
        var model = new ModelOptions(quantizable: true);
        var decoding = new DecodingOptions();
        var image = new Option<string?>("--image") { Description = "An image to start the conversation with." };
        var cmd = new Command("chat", "Chat with a model; /image PATH attaches an image, /reset, /exit.");
        model.AddTo(cmd);
        decoding.AddTo(cmd);
        cmd.Options.Add(image);
        cmd.SetAction(p =>
        {
            using var session = AnsiConsole.Status().Start("loading model...", _ => LlavaSession.Open(model.Read(p)));
            var options = decoding.Read(p);
            var history = new List<Turn>();
            RgbImage? picture = p.GetValue(image) is { } start ? ImageDecoder.DecodeFile(start) : null;
            AnsiConsole.MarkupLine("[grey]/image PATH attaches an image, /adapter load NAME DIR | /adapter NAME | /adapter none switches adapters, /reset clears the conversation, /exit quits[/]");
            while (true)
            {
                AnsiConsole.Markup("[bold green]you>[/] ");
                string? line = Console.ReadLine();
                if (line is null || line.Trim() == "/exit") return 0;
                line = line.Trim();
                if (line.Length == 0) continue;
                if (line == "/reset") { history.Clear(); picture = null; AnsiConsole.MarkupLine("[grey]conversation cleared[/]"); continue; }
                if (line.StartsWith("/adapter", StringComparison.Ordinal))
                {
                    try { AnsiConsole.MarkupLineInterpolated($"[grey]{AdapterCommand(session, line["/adapter".Length..].Trim())}[/]"); }
                    catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException) { AnsiConsole.MarkupLineInterpolated($"[red]{e.Message}[/]"); }
                    continue;
                }
                if (line.StartsWith("/image", StringComparison.Ordinal))
                {
                    try
                    {
                        picture = ImageDecoder.DecodeFile(line["/image".Length..].Trim());
                        history.Clear();
                        AnsiConsole.MarkupLineInterpolated($"[grey]image attached ({picture.Width}x{picture.Height}); conversation restarted around it[/]");
                    }
                    catch (Exception e) when (e is IOException or InvalidDataException) { AnsiConsole.MarkupLineInterpolated($"[red]{e.Message}[/]"); }
                    continue;
                }
                string prompt = session.Prompt(history, line, picture is not null);
                string reply = session.Generate([(prompt, picture)], options)[0];
                AnsiConsole.MarkupLineInterpolated($"[bold blue]assistant>[/] {reply}");
                history.Add(new Turn(Speaker.Human, line));
                history.Add(new Turn(Speaker.Gpt, reply));
            }
        });
        return cmd;
    }

    /// <summary>"load NAME DIR", "NAME" or "none".</summary>
    static string AdapterCommand(LlavaSession session, string args)
    {
        var parts = args.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        switch (parts)
        {
            case ["load", var name, var dir]:
                session.LoadAdapter(name, dir);
                return $"adapter '{name}' loaded from {dir} and in use";
            case ["none"]:
                session.UseAdapter(null);
                return "no adapter: the base model answers";
            case [var name]:
                session.UseAdapter(name);
                return $"adapter '{name}' in use";
            default:
                return $"adapters: {(session.Adapters.Count == 0 ? "none loaded" : string.Join(", ", session.Adapters))}; in use: {session.ActiveAdapter ?? "none"}";
        }
    }
}
