using System.CommandLine;

namespace MultiLora.Cli;

/// <summary>Every top-level command, one line each; each area's commands live in Commands/.</summary>
static class CommandCatalog
{
    public static IEnumerable<Command> All() =>
    [
        Commands.DataCommands.Create(),
    ];
}
