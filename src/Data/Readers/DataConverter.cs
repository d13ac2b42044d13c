using MultiLora.Data.Errors;
using MultiLora.Data.Model;
using MultiLora.Data.Pipeline;
using MultiLora.Data.Specs;

namespace MultiLora.Data.Readers;

/// <summary>What a conversion wrote.</summary>
public sealed record ConversionSummary(int Records, int Images, string Output);

/// <summary>
/// Converts between LLaVA JSON, JSONL and Parquet (formats from the extensions), streaming record by record.
/// Images travel with the records: into Parquet as bytes (read from the image root) with the original path kept;
/// into JSON/JSONL as paths, writing images that were only bytes to an image folder next to the output.
/// </summary>
public static class DataConverter
{
    /// <param name="imageRoot">Where the input's relative image paths resolve (default: the input's folder).</param>
    /// <param name="imagesOut">Where JSON output writes images that arrive as bytes (default: "OUT-stem_images" beside OUT).</param>
    public static ConversionSummary Convert(string input, string output, string? imageRoot = null, string? imagesOut = null)
    {
        var inFormat = DataFormats.FromExtension(input);
        var outFormat = DataFormats.FromExtension(output);
        if (inFormat is not (DataFormat.Json or DataFormat.Jsonl or DataFormat.Parquet))
            throw new ArgumentException($"{input}: convert reads .json, .jsonl or .parquet in the LLaVA layout (CSV/TSV need a column mapping: use a dataset spec)");
        if (outFormat is not (DataFormat.Json or DataFormat.Jsonl or DataFormat.Parquet))
            throw new ArgumentException($"{output}: convert writes .json, .jsonl or .parquet");
        if (Path.GetFullPath(input) == Path.GetFullPath(output)) throw new ArgumentException($"{output}: output would overwrite the input");
        var root = imageRoot ?? Path.GetDirectoryName(Path.GetFullPath(input))!;
        var records = ConversationReaders.For(inFormat).Read(input, ColumnMapping.Default, DataErrorPolicy.Fail());
        return outFormat == DataFormat.Parquet
            ? ToParquet(records, output, root)
            : ToJson(records, output, outFormat == DataFormat.Jsonl, imagesOut ?? DefaultImagesFolder(output));
    }

    public static string DefaultImagesFolder(string output) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(output))!, Path.GetFileNameWithoutExtension(output) + "_images");

    static ConversionSummary ToParquet(IEnumerable<Conversation> records, string output, string imageRoot)
    {
        int count = 0, images = 0;
        using (var writer = new ParquetConversationWriter(output))
            foreach (var c in records)
            {
                var bytes = c.Image is null ? null : LoadBytes(c.Image, imageRoot, c.Origin);
                writer.Write(c, bytes, c.Image?.Path);
                count++;
                if (bytes is not null) images++;
            }
        return new ConversionSummary(count, images, output);
    }

    static ConversionSummary ToJson(IEnumerable<Conversation> records, string output, bool jsonLines, string imagesFolder)
    {
        int count = 0, images = 0;
        var outFolder = Path.GetDirectoryName(Path.GetFullPath(output))!;
        using (var writer = new LlavaJsonWriter(output, jsonLines))
            foreach (var c in records)
            {
                string? path = null;
                if (c.Image is { } image)
                {
                    path = image.Bytes is { } bytes ? WriteImage(bytes, c, imagesFolder, outFolder) : image.Path;
                    images++;
                }
                writer.Write(c, path);
                count++;
            }
        return new ConversionSummary(count, images, output);
    }

    static byte[] LoadBytes(ImageSource image, string imageRoot, string origin)
    {
        try { return ImageLoader.LoadBytes(image, imageRoot, origin); }
        catch (DataRecordException e) { DataErrorPolicy.Fail().Handle(e); throw; }
    }

    /// <summary>
    /// Writes an image that arrived as bytes into the images folder: under its original relative path when it has a
    /// safe one, else named after the record id. The returned path is relative to the output's folder.
    /// </summary>
    static string WriteImage(byte[] bytes, Conversation c, string imagesFolder, string outFolder)
    {
        var file = Path.GetFullPath(Path.Combine(imagesFolder, SafeRelativePath(c.Image!.Path) ?? SafeName(c.Id) + Extension(bytes)));
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        if (File.Exists(file) && !File.ReadAllBytes(file).AsSpan().SequenceEqual(bytes))
            throw new InvalidDataException($"{c.Origin}: two records with id '{c.Id}' carry different images; cannot name the image file {file}");
        File.WriteAllBytes(file, bytes);
        return Path.GetRelativePath(outFolder, file).Replace('\\', '/');
    }

    static string? SafeRelativePath(string? path) =>
        path is null || Path.IsPathRooted(path) || path.Replace('\\', '/').Split('/').Any(part => part is ".." or "") ? null : path;

    static string SafeName(string id) => string.Concat(id.Select(ch => char.IsLetterOrDigit(ch) || ch is '-' or '_' or '.' ? ch : '_'));

    static string Extension(byte[] b) =>
        b.Length >= 4 && b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G' ? ".png"
        : b.Length >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF ? ".jpg"
        : b.Length >= 3 && b[0] == 'G' && b[1] == 'I' && b[2] == 'F' ? ".gif"
        : b.Length >= 2 && b[0] == 'B' && b[1] == 'M' ? ".bmp"
        : ".img";
}
