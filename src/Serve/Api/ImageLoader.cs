using System.Globalization;
using MultiLora.Data.Images;
using StbImageSharp;

namespace MultiLora.Serve.Api;

/// <summary>Where images may come from and how much of them the server takes.</summary>
/// <param name="AllowLocal">read file: URLs and absolute paths on the server's own disk (off by default: any client could read its files)</param>
/// <param name="FetchTimeout">a whole http(s) fetch, connect to last byte</param>
/// <param name="MaxBytes">the encoded image, from any source</param>
/// <param name="MaxPixels">the decoded image (a small PNG can decode to gigabytes)</param>
public sealed record ImageLoadOptions(bool AllowLocal = false, TimeSpan? FetchTimeout = null, long MaxBytes = 20L << 20, long MaxPixels = 50_000_000)
{
    public TimeSpan Timeout => FetchTimeout ?? TimeSpan.FromSeconds(10);
}

/// <summary>
/// Turns an image_url into an image: a data:image/...;base64, URL, an http(s) URL (fetched with a timeout and a
/// size cap), or, only when allowed, a local path. Every failure is a 400 naming the field.
/// </summary>
public sealed class ImageLoader(ImageLoadOptions options, HttpClient http)
{
    public async Task<RgbImage> LoadAsync(ImagePart part, CancellationToken ct)
    {
        string url = part.Url;
        byte[] bytes;
        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase)) bytes = FromDataUrl(part);
        else if (url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            bytes = await FetchAsync(part, ct);
        else if (url.StartsWith("file:", StringComparison.OrdinalIgnoreCase) || Path.IsPathRooted(url)) bytes = await ReadLocalAsync(part, ct);
        else throw ApiException.BadRequest(part.Param,
            $"expected a data:image/...;base64, URL or an http(s) URL{(options.AllowLocal ? " or a local path" : "")}, got '{Short(url)}'");
        return Decode(bytes, part);
    }

    byte[] FromDataUrl(ImagePart part)
    {
        string url = part.Url;
        int comma = url.IndexOf(',');
        if (comma < 0) throw ApiException.BadRequest(part.Param, "the data URL has no ',' before its data");
        string header = url[5..comma];
        var attributes = header.Split(';');
        if (!attributes.Contains("base64", StringComparer.OrdinalIgnoreCase))
            throw ApiException.BadRequest(part.Param, $"the data URL is not base64 ('data:{Short(header)},...'; expected data:image/png;base64,...)");
        if (!attributes[0].StartsWith("image/", StringComparison.OrdinalIgnoreCase))
            throw ApiException.BadRequest(part.Param, $"the data URL's media type '{attributes[0]}' is not an image type (image/png, image/jpeg, ...)");
        var payload = url.AsSpan(comma + 1);
        if (payload.Length / 4 * 3 > options.MaxBytes) throw TooLarge(part);
        var buffer = new byte[payload.Length / 4 * 3 + 3];
        if (!Convert.TryFromBase64Chars(payload, buffer, out int written))
            throw ApiException.BadRequest(part.Param, "the data URL's data is not valid base64");
        return buffer.AsSpan(0, written).ToArray();
    }

    async Task<byte[]> FetchAsync(ImagePart part, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.Timeout);
        try
        {
            using var response = await http.GetAsync(part.Url, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (!response.IsSuccessStatusCode)
                throw ApiException.BadRequest(part.Param, $"fetching the image failed: HTTP {(int)response.StatusCode} from {Short(part.Url)}");
            if (response.Content.Headers.ContentLength > options.MaxBytes) throw TooLarge(part);
            await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
            return await ReadCapped(body, part, timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw ApiException.BadRequest(part.Param, $"fetching the image timed out after {options.Timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s");
        }
        catch (HttpRequestException e)
        {
            throw ApiException.BadRequest(part.Param, $"fetching the image failed ({e.Message})");
        }
    }

    async Task<byte[]> ReadLocalAsync(ImagePart part, CancellationToken ct)
    {
        if (!options.AllowLocal)
            throw ApiException.BadRequest(part.Param, "local image paths are refused: the server must be started with --allow-local-images");
        string path = part.Url.StartsWith("file:", StringComparison.OrdinalIgnoreCase) && Uri.TryCreate(part.Url, UriKind.Absolute, out var uri) ? uri.LocalPath : part.Url;
        if (!File.Exists(path)) throw ApiException.BadRequest(part.Param, $"{path}: image file not found");
        if (new FileInfo(path).Length > options.MaxBytes) throw TooLarge(part);
        await using var file = File.OpenRead(path);
        return await ReadCapped(file, part, ct);
    }

    async Task<byte[]> ReadCapped(Stream stream, ImagePart part, CancellationToken ct)
    {
        using var copy = new MemoryStream();
        var buffer = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(buffer, ct)) > 0)
        {
            if (copy.Length + read > options.MaxBytes) throw TooLarge(part);
            copy.Write(buffer, 0, read);
        }
        return copy.ToArray();
    }

    RgbImage Decode(byte[] bytes, ImagePart part)
    {
        try
        {
            var info = ImageInfo.FromStream(new MemoryStream(bytes));
            if (info is { } i && (long)i.Width * i.Height > options.MaxPixels)
                throw ApiException.BadRequest(part.Param, $"the image is {i.Width}x{i.Height}, more than {options.MaxPixels} pixels");
            return ImageDecoder.Decode(bytes, part.Param);
        }
        catch (InvalidDataException e)
        {
            throw new ApiException(400, e.Message, part.Param);   // "<param>: could not decode image (...)"
        }
    }

    ApiException TooLarge(ImagePart part) => ApiException.BadRequest(part.Param, $"the image is larger than {options.MaxBytes} bytes");

    static string Short(string s) => s.Length <= 60 ? s : s[..60] + "...";
}
