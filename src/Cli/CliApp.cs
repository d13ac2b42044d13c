using System.CommandLine;

namespace MultiLora.Cli;

/// <summary>The `multilora` command line; public so tests can run commands in-process.</summary>
public static class CliApp
{
    public static RootCommand Build()
    {
        var root = new RootCommand("MultiLora: LLaVA-style multimodal instruction tuning (CLIP + Llama, LoRA/QLoRA) and evaluation.");
        foreach (var command in CommandCatalog.All()) root.Subcommands.Add(command);
        return root;
    }

    /// <summary>Runs a command line; expected failures become one red line and exit code 1 (see <see cref="CliErrors"/>).</summary>
    public static int Run(string[] args) =>
        CliErrors.Run(() => Build().Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
}
