using MultiLora.Data.Errors;
using MultiLora.Data.Images;
using MultiLora.Data.Readers;
using MultiLora.Data.Specs;
using MultiLora.Tests.Common;

namespace MultiLora.Data.Tests.Readers;

public class DelimitedReaderTests
{
    [Fact]
    public void Read_TsvWithBase64Images_DecodesToTheOriginalPixels()
    {
        using var dir = Fixture.Temp();
        var png = SampleFiles.Png(2);
        File.WriteAllText(dir.File("mmb.tsv"), $"index\tquestion\tanswer\timage\n0\tWhich shape?\tA\t{Convert.ToBase64String(png)}\n1\tNo image here\tB\t\n");
        var columns = new ColumnMapping { Id = "index", Question = "question", Answer = "answer", Image = null, ImageBase64 = "image" };

        var read = DelimitedReader.Tsv().Read(dir.File("mmb.tsv"), columns, DataErrorPolicy.Fail()).ToList();

        Assert.Equal(2, read.Count);
        Assert.Equal(png, read[0].Image!.Bytes);
        Assert.Equal(ImageDecoder.Decode(png, "x").Pixels, ImageDecoder.Decode(read[0].Image!.Bytes!, "y").Pixels);
        Assert.Equal("<image>\nWhich shape?", read[0].Turns[0].Value);
        Assert.False(read[1].HasImage);
    }

    [Fact]
    public void Read_CsvWithQuotedFieldsAndPathColumn_ReadsPaths()
    {
        using var dir = Fixture.Temp();
        File.WriteAllText(dir.File("d.csv"), "id,q,a,img\nr1,\"Hello, world?\",\"He said \"\"hi\"\"\",pics/1.png\n");
        var columns = new ColumnMapping { Question = "q", Answer = "a", Image = "img" };

        var c = Assert.Single(DelimitedReader.Csv().Read(dir.File("d.csv"), columns, DataErrorPolicy.Fail()));

        Assert.Equal("r1", c.Id);
        Assert.Equal("pics/1.png", c.Image!.Path);
        Assert.Equal("<image>\nHello, world?", c.Turns[0].Value);
        Assert.Equal("He said \"hi\"", c.Turns[1].Value);
    }

    [Fact]
    public void Read_InvalidBase64_IsAnUndecodableImageUnderSkip()
    {
        using var dir = Fixture.Temp();
        File.WriteAllText(dir.File("bad.tsv"), "question\tanswer\timage\nq\ta\t@@@not-base64@@@\n");
        var columns = new ColumnMapping { Question = "question", Answer = "answer", Image = null, ImageBase64 = "image" };
        var skip = DataErrorPolicy.Skip();

        Assert.Empty(DelimitedReader.Tsv().Read(dir.File("bad.tsv"), columns, skip));
        Assert.Equal(1, skip.Report.Count(DataErrorKind.UndecodableImage));
    }

    [Fact]
    public void Read_MissingColumn_NamesIt()
    {
        using var dir = Fixture.Temp();
        File.WriteAllText(dir.File("h.csv"), "q,a\nx,y\n");
        var e = Assert.Throws<InvalidDataException>(() => DelimitedReader.Csv().Read(dir.File("h.csv"), new ColumnMapping { Question = "question", Answer = "a" }, DataErrorPolicy.Fail()).ToList());
        Assert.Contains("'question'", e.Message);
    }
}
