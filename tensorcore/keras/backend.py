"""keras.backend, as far as the classic programs use it: images are channels-last, floats are
float32."""
EPSILON = 1e-7


def image_data_format():
    return "channels_last"


def set_image_data_format(data_format):
    if data_format != "channels_last":
        raise ValueError(f"tensorcore.keras supports only 'channels_last' images, received "
                         f"{data_format!r}")


def floatx():
    return "float32"


def epsilon():
    return EPSILON


def clear_session():
    """Forget the layer-name counters, as Keras' clear_session does."""
    from .layers.base import _counters
    _counters.clear()


