using System.CommandLine;
using MultiLora.Core.Diagnostics;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;
using Spectre.Console;

namespace MultiLora.Cli.Commands;

/// <summary>`multilora train --recipe r.yaml [--set key=value]... [--resume]`.</summary>
static class TrainCommand
{
    public static Command Create()
    {
        var recipe = new Option<string?>("--recipe") { Description = "Recipe YAML (model, data, stage, method, lora, quant, optim, batch, steps...)." };
        var set = new Option<string[]>("--set") { Description = "Override a recipe field, e.g. --set lora.rank=64 --set method=qlora.", AllowMultipleArgumentsPerToken = false };
        var resume = new Option<bool>("--resume") { Description = "Continue from the newest checkpoint in output_dir." };
        var cmd = new Command("train", "Train a LLaVA model: stage 1 (projector) or stage 2 (full, LoRA or QLoRA).");
        cmd.Options.Add(recipe);
        cmd.Options.Add(set);
        cmd.Options.Add(resume);
        cmd.SetAction(p =>
        {
            var r = RecipeLoader.Load(p.GetValue(recipe), p.GetValue(set) ?? []);
            var result = TrainingProgress.Run(observer => Trainer.Run(r, observer, p.GetValue(resume)));
            if (result.Rank != 0) return 0;   // rank 0 speaks for the run
            AnsiConsole.MarkupLineInterpolated(
                $"done: {result.Steps} steps in {result.Seconds:0.0} s, loss {result.FirstLoss:0.000} -> {result.LastLoss:0.000}, peak RSS {MemoryProbe.Format(result.PeakResidentBytes)}; output {result.FinalDir}");
            return 0;
        });
        return cmd;
    }
}
