using MultiLora.Data.Errors;
using MultiLora.Data.Specs;
using MultiLora.Tests.Common;

namespace MultiLora.Data.Tests.Readers;

public class SpecLoaderTests
{
    [Fact]
    public void LoadMixture_ResolvesPathsDefaultsAndEnums()
    {
        using var dir = Fixture.Temp();
        File.WriteAllText(dir.File("a.json"), "[]");
        File.WriteAllText(dir.File("t.jsonl"), "");
        File.WriteAllText(dir.File("mix.yaml"), """
            text_mix: 0.25
            seed: 9
            datasets:
              - name: img
                files: [a.json]
                image_root: pics
                on_error: skip
                weight: 2
              - name: txt
                files: [t.jsonl]
                kind: text
                columns: {question: q, answer: a}
            """);

        var mix = SpecLoader.LoadMixture(dir.File("mix.yaml"));

        Assert.Equal(0.25, mix.TextMix);
        Assert.Equal(9, mix.Seed);
        var img = mix.Datasets[0];
        Assert.Equal([dir.File("a.json")], img.Files);
        Assert.Equal(DataFormat.Json, img.Format);
        Assert.Equal(Path.Combine(dir.Path, "pics"), img.ImageRoot);
        Assert.Equal(OnError.Skip, img.OnError);
        Assert.Equal(2, img.Weight);
        Assert.Equal(DatasetKind.Text, mix.Datasets[1].Kind);
        Assert.Equal(DataFormat.Jsonl, mix.Datasets[1].Format);
        Assert.Equal("q", mix.Datasets[1].Columns.Question);
        Assert.Equal(OnError.Fail, mix.Datasets[1].OnError);
    }

    [Theory]
    [InlineData("name: x\nfiles: [a.json]\nimage_rot: imgs\n", "image_rot")]
    [InlineData("datasets:\n  - name: x\n    files: [a.json]\n    wieght: 2\n", "wieght")]
    [InlineData("name: x\nfiles: [a.json]\ncolumns: {questoin: q}\n", "questoin")]
    public void Load_UnknownKey_NamesKeyAndFile(string yaml, string key)
    {
        using var dir = Fixture.Temp();
        File.WriteAllText(dir.File("a.json"), "[]");
        File.WriteAllText(dir.File("s.yaml"), yaml);

        var e = Assert.Throws<InvalidDataException>(() => SpecLoader.LoadMixture(dir.File("s.yaml")));

        Assert.Contains($"unknown key '{key}'", e.Message);
        Assert.Contains("s.yaml", e.Message);
    }

    [Fact]
    public void Load_BadEnumValueAndMissingFile_AreClearErrors()
    {
        using var dir = Fixture.Temp();
        File.WriteAllText(dir.File("a.json"), "[]");
        File.WriteAllText(dir.File("e.yaml"), "name: x\nfiles: [a.json]\non_error: ignore\n");
        File.WriteAllText(dir.File("m.yaml"), "name: x\nfiles: [nope-*.json]\n");

        Assert.Contains("on_error 'ignore' is not one of fail|skip", Assert.Throws<InvalidDataException>(() => SpecLoader.LoadMixture(dir.File("e.yaml"))).Message);
        Assert.Contains("nope-*.json", Assert.Throws<FileNotFoundException>(() => SpecLoader.LoadMixture(dir.File("m.yaml"))).Message);
    }
}
