using MultiLora.Data.Errors;
using MultiLora.Data.Readers;
using MultiLora.Data.Specs;
using MultiLora.Data.Tests.Pipeline;
using MultiLora.Tests.Common;

namespace MultiLora.Data.Tests.Readers;

public class CrossFormatTests
{
    [Fact]
    public void SameConversation_FromJsonJsonlAndParquet_GivesIdenticalRecordsAndEncodings()
    {
        using var dir = Fixture.Temp();
        var expected = SampleFiles.Conversations(4);
        var json = SampleFiles.WriteJson(dir.File("a.json"), expected, lines: false);
        var jsonl = SampleFiles.WriteJson(dir.File("a.jsonl"), expected, lines: true);
        var parquet = SampleFiles.WriteParquet(dir.File("a.parquet"), expected, _ => null);
        var encoder = new WordHashTestEncoder();

        var fromJson = ConversationReaders.ReadFile(json, DataErrorPolicy.Fail()).ToList();
        var fromJsonl = ConversationReaders.ReadFile(jsonl, DataErrorPolicy.Fail()).ToList();
        var fromParquet = ConversationReaders.ReadFile(parquet, DataErrorPolicy.Fail()).ToList();

        Assert.Equal(4, fromJson.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            ConversationAssert.SameContent(expected[i], fromJson[i]);
            ConversationAssert.SameContent(fromJson[i], fromJsonl[i]);
            ConversationAssert.SameContent(fromJson[i], fromParquet[i]);
            var a = encoder.Encode(fromJson[i]);
            Assert.Equal(a.InputIds, encoder.Encode(fromJsonl[i]).InputIds);
            Assert.Equal(a.Labels, encoder.Encode(fromJsonl[i]).Labels);
            Assert.Equal(a.InputIds, encoder.Encode(fromParquet[i]).InputIds);
            Assert.Equal(a.Labels, encoder.Encode(fromParquet[i]).Labels);
        }
    }

    [Fact]
    public void Convert_JsonToParquetToJson_PreservesRecordsAndImages()
    {
        using var dir = Fixture.Temp();
        var expected = SampleFiles.Conversations(3);
        SampleFiles.WriteImages(dir.Path, 3);
        var json = SampleFiles.WriteJson(dir.File("in.json"), expected, lines: false);

        var toParquet = DataConverter.Convert(json, dir.File("out/mid.parquet"));
        var rows = ConversationReaders.ReadFile(dir.File("out/mid.parquet"), DataErrorPolicy.Fail()).ToList();
        var back = DataConverter.Convert(dir.File("out/mid.parquet"), dir.File("out/back.jsonl"));
        var final = ConversationReaders.ReadFile(dir.File("out/back.jsonl"), DataErrorPolicy.Fail()).ToList();

        Assert.Equal(3, toParquet.Images);
        Assert.Equal(3, back.Records);
        for (var i = 0; i < 3; i++)
        {
            // Parquet holds the image bytes with the original path; JSON output writes the bytes out under that path.
            Assert.Equal(File.ReadAllBytes(dir.File($"imgs/{i}.png")), rows[i].Image!.Bytes);
            Assert.Equal($"imgs/{i}.png", rows[i].Image!.Path);
            Assert.Equal(expected[i].Turns, final[i].Turns);
            Assert.Equal($"back_images/imgs/{i}.png", final[i].Image!.Path);
            Assert.Equal(SampleFiles.Png(i), File.ReadAllBytes(dir.File("out/" + final[i].Image!.Path)));
        }
    }

    [Fact]
    public void Convert_ParquetBytesWithoutPath_WritesImageFilesForJson()
    {
        using var dir = Fixture.Temp();
        var records = SampleFiles.Conversations(2).Select(c => c with { Image = null }).ToArray();
        using (var writer = new ParquetConversationWriter(dir.File("b.parquet")))
            for (var i = 0; i < records.Length; i++) writer.Write(records[i], SampleFiles.Png(i), null);

        DataConverter.Convert(dir.File("b.parquet"), dir.File("b.json"));
        var read = ConversationReaders.ReadFile(dir.File("b.json"), DataErrorPolicy.Fail()).ToList();

        for (var i = 0; i < 2; i++)
        {
            Assert.Equal($"b_images/rec-{i}.png", read[i].Image!.Path);
            Assert.Equal(SampleFiles.Png(i), File.ReadAllBytes(dir.File(read[i].Image!.Path!)));
        }
    }

    [Fact]
    public void Convert_MissingImageForParquet_NamesRecord()
    {
        using var dir = Fixture.Temp();
        var json = SampleFiles.WriteJson(dir.File("in.json"), SampleFiles.Conversations(1), lines: false);
        var e = Assert.Throws<InvalidDataException>(() => DataConverter.Convert(json, dir.File("o.parquet")));
        Assert.Contains("in.json#0", e.Message);
        Assert.Contains("image file not found", e.Message);
    }

    [Fact]
    public void Convert_UnknownExtension_Refused()
    {
        using var dir = Fixture.Temp();
        var json = SampleFiles.WriteJson(dir.File("in.json"), SampleFiles.Conversations(1), lines: false);
        Assert.Throws<ArgumentException>(() => DataConverter.Convert(json, dir.File("o.xml")));
    }
}
