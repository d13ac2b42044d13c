namespace MultiLora.Sweeps.Launchers;

/// <summary>
/// How to start this multilora again (for each local run and in each sbatch script): the program and the arguments
/// before the subcommand, e.g. "dotnet /path/multilora.dll".
/// </summary>
public sealed record SelfCommand(string Program, IReadOnlyList<string> Prefix)
{
    /// <summary>`dotnet ASSEMBLY` for a framework-dependent multilora.dll, else the executable itself.</summary>
    public static SelfCommand For(string entryAssembly) =>
        entryAssembly.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? new SelfCommand(DotnetHost(), [entryAssembly]) : new SelfCommand(entryAssembly, []);

    /// <summary>The dotnet host running this process when it is one, else `dotnet` from PATH.</summary>
    public static string DotnetHost() =>
        Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";

    public IEnumerable<string> Arguments(params string[] args) => Prefix.Concat(args);

    /// <summary>The command as one shell line (each word single-quoted).</summary>
    public string ShellLine(params string[] args) => string.Join(" ", new[] { Program }.Concat(Arguments(args)).Select(Shell.Quote));
}

/// <summary>POSIX shell quoting.</summary>
public static class Shell
{
    public static string Quote(string word) => word.Length > 0 && word.All(c => char.IsLetterOrDigit(c) || c is '/' or '.' or '-' or '_' or ':' or '=' or ',')
        ? word : "'" + word.Replace("'", "'\\''") + "'";
}
