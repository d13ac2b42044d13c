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
        var output = new StringWriter();
        var previous = Console.Out;
        Console.SetOut(output);
        int code;
        try
        {
            code = CliApp.Run(["data", "inspect", Path.Combine(tmp.Path, SynthOutput.Stage2Spec), "--tokenizer", Fixture.Path("model"),
                "--template", "llava_hf", "--image-tokens", "16", "--samples", "1"]);
        }
        finally { Console.SetOut(previous); }
        Assert.Equal(0, code);
        string text = output.ToString();
        Assert.Contains("tokens per sample: p50", text);
        Assert.Contains("<image>x16", text);
        Assert.Contains("ASSISTANT:", text);
    }
}
