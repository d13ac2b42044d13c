using System.CommandLine;
using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Sessions;
using MultiLora.Lora.Adapters;
using Spectre.Console;

namespace MultiLora.Cli.Commands;

/// <summary>`multilora merge --model BASE --adapter A --out DIR`: a full checkpoint in transformers' llava layout with the adapter folded in.</summary>
static class MergeCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        var output = new Option<string>("--out") { Description = "Folder for the merged checkpoint.", Required = true };
        var cmd = new Command("merge", "Merge a LoRA adapter (peft or MultiLora) into its base and write a full llava checkpoint.");
        model.AddTo(cmd);
        cmd.Options.Add(output);
        cmd.SetAction(p =>
        {
            var options = model.Read(p);
            if (options.Source.AdapterDir is null) throw new ArgumentException("--adapter is required: it is what gets merged");
            using var session = LlavaSession.Open(options);
            var merged = AdapterMerger.MergeAndUnload(session.Model);
            var settings = new ModelSettings(session.Template.Name, session.Options.Aspect?.ToString().ToLowerInvariant(), session.Options.Resolution).ToJson();
            LlavaSaver.Save(p.GetValue(output)!, session.Model, options.Source.CompanionDirs, extraFiles: new Dictionary<string, string> { [ModelSettings.FileName] = settings });
            AnsiConsole.MarkupLineInterpolated($"merged {merged.Count} LoRA modules; wrote {p.GetValue(output)}");
            return 0;
        });
        return cmd;
    }
}
