using MultiLora.Benchmarks.Anchor;
using MultiLora.Tests.Common;

namespace MultiLora.Tests.Benchmarks;

/// <summary>The comparison joins both sides by row name, picks a peak measure both have, and checks the issue's goals.</summary>
public sealed class AnchorTableTests
{
    static AnchorResult Train(string name, double samples, double? peak = null, double? used = null, string framework = "multilora") =>
        new() { Name = name, Framework = framework, SamplesPerS = samples, StepS = 16 / samples, PeakGib = peak, PeakDeviceUsedGib = used, MatmulPeakTflops = 794 };

    [Fact]
    public void Compare_GivesRatiosAndChecksSpeedAndPeakGoals()
    {
        var hf = new[] { Train("llava-tinyllama1.1b-336-lora64", 30.2, 9.4, 11.0, "transformers"), Train("llava-tinyllama1.1b-224-lora64", 45.2, 6.5, 8.0, "transformers") };
        var ours = new[] { Train("llava-tinyllama1.1b-336-lora64", 40.0, 9.0, 10.5), Train("llava-tinyllama1.1b-224-lora64", 50.0, null, 7.0) };
        var rows = AnchorTable.Compare(hf, ours);
        var r336 = rows.Single(r => r.Name == "llava-tinyllama1.1b-336-lora64");
        Assert.Equal(40.0 / 30.2, r336.Ratio!.Value, 6);
        Assert.Equal(("allocator", 9.4, 9.0), (r336.PeakMeasure, r336.HfPeakGib, r336.OursPeakGib));
        Assert.True(r336.Met);                                   // 1.32x and 9.0 <= 9.4
        var r224 = rows.Single(r => r.Name == "llava-tinyllama1.1b-224-lora64");
        Assert.Equal(("device used", 8.0, 7.0), (r224.PeakMeasure, r224.HfPeakGib, r224.OursPeakGib));   // ours has no allocator peak: both by NVML
        Assert.False(r224.Met);                                  // 1.11x < 1.3x
        Assert.Null(rows.Single(r => r.Name == "llava-7b-336-lora128").Met);   // not measured
    }

    [Fact]
    public void Compare_ChecksQloraAgainstOurOwnLoraRowAndItsPeakBound()
    {
        var ours = new[] { Train("llava-7b-336-lora128", 12.0, 25.0), Train("llava-7b-336-qlora128", 9.5, 14.2) };
        var qlora = AnchorTable.Compare([], ours).Single(r => r.Name == "llava-7b-336-qlora128");
        Assert.True(qlora.Met);                                  // 9.5 >= 0.75 x 12 and 14.2 <= 15 GiB
        var slow = AnchorTable.Compare([], [Train("llava-7b-336-lora128", 12.0, 25.0), Train("llava-7b-336-qlora128", 8.0, 14.2)]);
        Assert.False(slow.Single(r => r.Name == "llava-7b-336-qlora128").Met);
    }

    [Fact]
    public void Markdown_HasOneLinePerIssueRowAndShowsErrors()
    {
        var ours = new[] { new AnchorResult { Name = "llava-7b-336-generate-b1", Kind = "generate", GenTokensPerS = 120 }, new AnchorResult { Name = "llava-7b-336-lora128", Error = "CUDA out of memory" } };
        var md = AnchorTable.Markdown(AnchorTable.Compare([], ours), "header");
        Assert.Equal(AnchorPreset.All.Count + 2, md.Split('\n').Count(l => l.StartsWith('|')));
        Assert.Contains("| llava-7b-336-generate-b1 | new tokens/s | - | 120 |", md);
        Assert.Contains("ours: CUDA out of memory", md);
    }

    [Fact]
    public void ReadAll_ReadsArraysAndJsonLinesAndNamesABrokenFile()
    {
        using var dir = Fixture.Temp();
        File.WriteAllText(dir.File("a.json"), "[{\"name\": \"x\", \"samples_per_s\": 1.5, \"peak_gib\": 2}]");
        File.WriteAllText(dir.File("b.jsonl"), "{\"name\": \"x\", \"gen_tokens_per_s\": 3}\n{\"name\": \"y\", \"error\": \"boom\"}\n");
        File.WriteAllText(dir.File("c.json"), "{not json");
        Assert.Equal((1.5, 2.0), (AnchorResult.ReadAll(dir.File("a.json"))[0].SamplesPerS!.Value, AnchorResult.ReadAll(dir.File("a.json"))[0].PeakGib!.Value));
        Assert.Equal(["x", "y"], AnchorResult.ReadAll(dir.File("b.jsonl")).Select(r => r.Name));
        var e = Assert.Throws<InvalidDataException>(() => AnchorResult.ReadAll(dir.File("c.json")));
        Assert.Contains("c.json", e.Message);
    }
}
