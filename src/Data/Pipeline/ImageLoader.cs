using MultiLora.Data.Errors;
using MultiLora.Data.Images;
using MultiLora.Data.Model;

namespace MultiLora.Data.Pipeline;

/// <summary>Loads a record's image (a path under the dataset's image root, or bytes from the row) and decodes it.</summary>
public static class ImageLoader
{
    public static byte[] LoadBytes(ImageSource source, string? imageRoot, string origin)
    {
        if (source.Bytes is { } bytes) return bytes;
        var path = ResolvePath(source.Path!, imageRoot);
        if (!File.Exists(path)) throw new DataRecordException(DataErrorKind.MissingImage, origin, $"image file not found: {path}");
        return File.ReadAllBytes(path);
    }

    public static RgbImage Load(ImageSource source, string? imageRoot, string origin)
    {
        var bytes = LoadBytes(source, imageRoot, origin);
        try { return ImageDecoder.Decode(bytes, $"{origin} ({source})"); }
        catch (InvalidDataException e) { throw new DataRecordException(DataErrorKind.UndecodableImage, origin, e.Message, e); }
    }

    public static string ResolvePath(string path, string? imageRoot) =>
        Path.IsPathRooted(path) || imageRoot is null ? path : Path.Combine(imageRoot, path);
}
