using System.CommandLine;

namespace MultiLora.Cli;

/// <summary>Every top-level command, one line each; each area's commands live in Commands/.</summary>
static class CommandCatalog
{
    public static IEnumerable<Command> All() =>
    [
        Commands.GenerateCommand.Create(),
        Commands.ChatCommand.Create(),
        Commands.ServeCommand.Create(),
        Commands.ForwardCommand.Create(),
        Commands.InspectCommand.Create(),
        Commands.QuickstartCommand.Create(),
        Commands.ModelInitCommand.Create(),
        Commands.TrainCommand.Create(),
        Commands.MergeCommand.Create(),
        Commands.QuantizeCommand.Create(),
        Commands.EvalCommands.Create(),
        Commands.DataCommands.Create(),
        Commands.DistributedCommands.Create(),
        Commands.TokenizeCommand.Create(),
        Commands.SweepCommands.Create(),
        Commands.RunsCommands.Create(),
        Commands.RunsCommands.Report(),
    ];
}
