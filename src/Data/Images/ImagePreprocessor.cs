namespace MultiLora.Data.Images;

/// <summary>
/// CLIPImageProcessor's pixel pipeline on 8-bit RGB, matching HF's PIL path: optional LLaVA expand2square,
/// PIL resize of the shortest edge, HF center crop (zero padding when the image is smaller than the crop),
/// rescale (in double, stored as float32) and normalize in float32, channel-first.
/// Thread-safe: one instance can serve all data-loader workers.
/// </summary>
public sealed class ImagePreprocessor
{
    public ClipImageProcessorConfig Config { get; }
    public ImagePreprocessOptions Options { get; }
    /// <summary>The output height/width ([3, OutputHeight, OutputWidth]).</summary>
    public int OutputHeight { get; }
    public int OutputWidth { get; }

    readonly byte[] _padColor;
    // Per channel, 8-bit value -> rescaled and normalized float32: the same arithmetic as HF, done once.
    readonly float[] _valueToFloat = new float[3 * 256];

    public ImagePreprocessor(ClipImageProcessorConfig config, ImagePreprocessOptions? options = null)
    {
        Options = options ?? ImagePreprocessOptions.Default;
        if (Options.Resolution is int r)
        {
            if (r <= 0) throw new ArgumentException($"image resolution must be positive, got {r}");
            if (Options.PatchSize is int p && r % p != 0)
                throw new ArgumentException($"image resolution {r} is not a multiple of the vision patch size {p}");
            config = config with
            {
                ShortestEdge = config.DoResize && config.ShortestEdge is not null ? r : null,
                ResizeHeight = config.ResizeHeight is null ? null : r,
                ResizeWidth = config.ResizeWidth is null ? null : r,
                CropHeight = config.DoCenterCrop ? r : 0,
                CropWidth = config.DoCenterCrop ? r : 0,
            };
        }
        Config = config;
        // LLaVA: background_color = tuple(int(x*255) for x in image_processor.image_mean)
        _padColor = config.ImageMean.Select(m => (byte)Math.Clamp((int)(m * 255.0), 0, 255)).ToArray();
        for (var c = 0; c < 3; c++)
            for (var v = 0; v < 256; v++)
            {
                var x = config.DoRescale ? (float)(v * config.RescaleFactor) : v; // HF rescales in float64, stores float32
                _valueToFloat[c * 256 + v] = config.DoNormalize ? (x - config.ImageMean[c]) / config.ImageStd[c] : x;
            }
        (OutputHeight, OutputWidth) = config.DoCenterCrop ? (config.CropHeight, config.CropWidth)
            : config.ResizeHeight is int h && config.ResizeWidth is int w ? (h, w) : (0, 0); // 0: depends on the image
    }

    public static ImagePreprocessor Load(string modelDir, ImagePreprocessOptions? options = null) =>
        new(ClipImageProcessorConfig.Load(modelDir), options);

    public PixelTensor Process(RgbImage image)
    {
        if (image.Pixels.Length != image.Width * image.Height * 3)
            throw new ArgumentException($"RGB image {image.Width}x{image.Height} has {image.Pixels.Length} bytes, expected {image.Width * image.Height * 3}");
        if (Options.Aspect == AspectMode.Pad) image = ExpandToSquare(image, _padColor);
        if (Config.DoResize)
        {
            var (h, w) = ResizeTarget(image.Height, image.Width);
            image = Resampler.Resize(image, w, h, Config.Resample, Options.Backend);
        }
        return Config.DoCenterCrop ? ToTensor(image, Config.CropHeight, Config.CropWidth) : ToTensor(image, image.Height, image.Width);
    }

    /// <summary>HF get_resize_output_image_size (default_to_square=False): the long side is int(short_target * long / short).</summary>
    (int Height, int Width) ResizeTarget(int height, int width)
    {
        if (Config.ShortestEdge is not int s) return (Config.ResizeHeight!.Value, Config.ResizeWidth!.Value);
        var (shortSide, longSide) = width <= height ? (width, height) : (height, width);
        var newLong = (int)((double)s * longSide / shortSide);
        return width <= height ? (newLong, s) : (s, newLong);
    }

    /// <summary>LLaVA's expand2square: a square of the longer side filled with the colour, the image pasted at ((size-w)//2, (size-h)//2).</summary>
    public static RgbImage ExpandToSquare(RgbImage image, byte[] color)
    {
        if (image.Width == image.Height) return image;
        var size = Math.Max(image.Width, image.Height);
        var pixels = new byte[size * size * 3];
        for (var i = 0; i < pixels.Length; i += 3) { pixels[i] = color[0]; pixels[i + 1] = color[1]; pixels[i + 2] = color[2]; }
        var left = (size - image.Width) / 2;
        var top = (size - image.Height) / 2;
        var rowBytes = image.Width * 3;
        for (var y = 0; y < image.Height; y++)
            Buffer.BlockCopy(image.Pixels, y * rowBytes, pixels, ((top + y) * size + left) * 3, rowBytes);
        return new RgbImage(size, size, pixels);
    }

    /// <summary>
    /// Crops (outside the image reads as 0, as both HF crops pad with zeros), rescales and normalizes into a
    /// channel-first float32 tensor in one pass.
    /// </summary>
    PixelTensor ToTensor(RgbImage image, int height, int width)
    {
        var top = CropOffset(image.Height, height, Options.Backend);
        var left = CropOffset(image.Width, width, Options.Backend);
        var values = new float[3 * height * width];
        var plane = height * width;
        for (var y = 0; y < height; y++)
        {
            var sy = y + top;
            for (var x = 0; x < width; x++)
            {
                var sx = x + left;
                var inside = sy >= 0 && sy < image.Height && sx >= 0 && sx < image.Width;
                var p = (sy * image.Width + sx) * 3;
                for (var c = 0; c < 3; c++)
                    values[c * plane + y * width + x] = _valueToFloat[c * 256 + (inside ? image.Pixels[p + c] : 0)];
            }
        }
        return new PixelTensor(height, width, values);
    }

    /// <summary>
    /// Where the crop window starts in the image (negative: zero padding before it). HF's numpy center_crop:
    /// (size - crop) // 2. torchvision: round((size - crop) / 2) half to even, or -((crop - size) // 2) when it pads.
    /// </summary>
    static int CropOffset(int size, int crop, ResizeBackend backend) => backend switch
    {
        ResizeBackend.Pil => (int)Math.Floor((size - crop) / 2.0),
        _ when crop > size => -((crop - size) / 2),
        _ => (int)Math.Round((size - crop) / 2.0, MidpointRounding.ToEven),
    };
}
