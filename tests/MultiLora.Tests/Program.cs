namespace MultiLora.Tests;

/// <summary>
/// The test assembly's entry point: `dotnet MultiLora.Tests.dll registry-writer DB WRITER RUNS METRICS` is one of the
/// processes <see cref="Sweeps.RegistryConcurrencyTests"/> starts; the test runner itself never calls Main.
/// </summary>
public static class Program
{
    public static int Main(string[] args) => args is ["registry-writer", var db, var writer, var runs, var metrics]
        ? Sweeps.RegistryWriter.Run(db, int.Parse(writer), int.Parse(runs), int.Parse(metrics))
        : 0;
}
