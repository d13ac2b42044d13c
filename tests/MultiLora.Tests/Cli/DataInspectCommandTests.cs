using MultiLora.Cli;
using MultiLora.Data.Synthetic;
using MultiLora.Tests.Common;

namespace MultiLora.Tests.Cli;

[Collection(CliCollection.Name)]
public sealed class DataInspectCommandTests
{
    [Fact]
    public void InspectWithTokenizer_PrintsTokenStatisticsAndLabelMasks()
    {
        using var tmp = Fixture.Temp();
        SyntheticDatasetGenerator.Generate(tmp.Path, new SynthOptions { Resolution = 16, Train = 20, Eval = 4 });
        // Spectre writes through AnsiConsole.Console (created once per process), not Console.Out: swap it for a recorder
        var output = new StringWriter();
        var previous = Spectre.Console.AnsiConsole.Console;
        Spectre.Console.AnsiConsole.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
        {
            Out = new Spectre.Console.AnsiConsoleOutput(output),
            ColorSystem = Spectre.Console.ColorSystemSupport.NoColors,
        });
        int code;
        try
        {
            code = CliApp.Run(["data", "inspect", Path.Combine(tmp.Path, SynthOutput.Stage2Spec), "--tokenizer", Fixture.Path("model"),
                "--template", "llava_hf", "--image-tokens", "16", "--samples", "1"]);
        }
        finally { Spectre.Console.AnsiConsole.Console = previous; }
        Assert.Equal(0, code);
        string text = output.ToString();
        Assert.Contains("tokens per sample: p50", text);
        Assert.Contains("<image>x16", text);
        Assert.Contains("ASSISTANT:", text);
    }
}
