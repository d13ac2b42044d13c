using MultiLora.Data.Errors;
using MultiLora.Data.Model;
using MultiLora.Data.Readers;
using MultiLora.Data.Specs;
using MultiLora.Tests.Common;
using Parquet;
using Parquet.Serialization;

namespace MultiLora.Data.Tests.Readers;

public class ParquetReaderTests
{
    [Fact]
    public async Task Read_ImageBytesStructAcrossRowGroupsAndFiles_KeepsOrderAndBytes()
    {
        using var dir = Fixture.Temp();
        var all = SampleFiles.Conversations(5);
        // Two files matched by a glob: part-0 in row groups of 2 + 1 rows, part-1 in 1 + 1.
        SampleFiles.WriteParquet(dir.File("part-0.parquet"), all.Take(3), c => SampleFiles.Png(int.Parse(c.Id[4..])), rowGroupSize: 2);
        SampleFiles.WriteParquet(dir.File("part-1.parquet"), all.Skip(3), c => SampleFiles.Png(int.Parse(c.Id[4..])), rowGroupSize: 1);
        File.WriteAllText(dir.File("spec.yaml"), "name: pq\nfiles: [part-*.parquet]\nformat: parquet\n");

        using (var stream = File.OpenRead(dir.File("part-0.parquet")))
        await using (var reader = await ParquetReader.CreateAsync(stream)) Assert.Equal(2, reader.RowGroupCount);
        var spec = SpecLoader.LoadDataset(dir.File("spec.yaml"));
        var read = ConversationReaders.Read(spec, DataErrorPolicy.Fail()).ToList();

        Assert.Equal(5, read.Count);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(all[i].Id, read[i].Id);
            Assert.Equal(all[i].Turns, read[i].Turns);
            Assert.Equal(SampleFiles.Png(i), read[i].Image!.Bytes);
        }
        Assert.EndsWith("part-0.parquet#2", read[2].Origin);
        Assert.EndsWith("part-1.parquet#1", read[4].Origin);
    }

    public sealed class QaRow
    {
        public string? Question { get; set; }
        public string? Answer { get; set; }
        public byte[]? Picture { get; set; }
        public string? Conv { get; set; }
        public string? PicturePath { get; set; }
    }

    [Fact]
    public async Task Read_PathStringImageColumn_GivesPathImage()
    {
        using var dir = Fixture.Temp();
        await ParquetSerializer.SerializeAsync(new[] { new QaRow { Question = "q", Answer = "a", PicturePath = "imgs/3.jpg" } }, dir.File("p.parquet"));

        var c = Assert.Single(new ParquetConversationReader().Read(dir.File("p.parquet"), new ColumnMapping { Question = "Question", Answer = "Answer", Image = "PicturePath" }, DataErrorPolicy.Fail()));

        Assert.Equal(ImageSource.FromPath("imgs/3.jpg").Path, c.Image!.Path);
        Assert.Null(c.Image.Bytes);
    }

    [Fact]
    public async Task Read_QuestionAnswerColumnsWithBinaryImage_MapsColumns()
    {
        using var dir = Fixture.Temp();
        var rows = new[] { new QaRow { Question = "What is it?", Answer = "A cat", Picture = SampleFiles.Png(1) }, new QaRow { Question = "Text only?", Answer = "Yes" } };
        await ParquetSerializer.SerializeAsync(rows, dir.File("qa.parquet"));
        var columns = new ColumnMapping { Question = "Question", Answer = "Answer", Image = "Picture" };

        var read = new ParquetConversationReader().Read(dir.File("qa.parquet"), columns, DataErrorPolicy.Fail()).ToList();

        Assert.Equal("<image>\nWhat is it?", read[0].Turns[0].Value);
        Assert.Equal(SampleFiles.Png(1), read[0].Image!.Bytes);
        Assert.False(read[1].HasImage);
        Assert.Equal("Text only?", read[1].Turns[0].Value);
    }

    [Fact]
    public async Task Read_ConversationsAsJsonStringColumn_Parses()
    {
        using var dir = Fixture.Temp();
        var rows = new[] { new QaRow { Conv = """[{"from":"human","value":"hi"},{"from":"gpt","value":"ho"}]""" } };
        await ParquetSerializer.SerializeAsync(rows, dir.File("c.parquet"));

        var c = Assert.Single(new ParquetConversationReader().Read(dir.File("c.parquet"), new ColumnMapping { Conversations = "Conv", Image = null }, DataErrorPolicy.Fail()));

        Assert.Equal(["hi", "ho"], c.Turns.Select(t => t.Value));
    }

    [Fact]
    public async Task Read_MisspeltColumn_NamesColumnAndFile()
    {
        using var dir = Fixture.Temp();
        await ParquetSerializer.SerializeAsync(new[] { new QaRow { Question = "q", Answer = "a" } }, dir.File("m.parquet"));
        var e = Assert.Throws<InvalidDataException>(() =>
            new ParquetConversationReader().Read(dir.File("m.parquet"), new ColumnMapping { Question = "Questoin", Answer = "Answer" }, DataErrorPolicy.Fail()).ToList());
        Assert.Contains("Questoin", e.Message);
        Assert.Contains("m.parquet", e.Message);
    }
}
