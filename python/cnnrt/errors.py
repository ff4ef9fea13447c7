"""cnnrt's exception types: each names the file, node, op or shape at fault."""


class CnnrtError(Exception):
    """Base of every error cnnrt raises on purpose."""


class ModelNotFoundError(CnnrtError, FileNotFoundError):
    """The model file does not exist."""


class ModelLoadError(CnnrtError, ValueError):
    """The file is not a readable ONNX model (or a referenced external-data file is missing)."""


class UnsupportedOpError(CnnrtError, NotImplementedError):
    """An op (or an attribute value of it) that cnnrt cannot run; names op, node, opset, file."""


class ShapeError(CnnrtError, ValueError):
    """A node's inputs do not fit its op; names the node and the shapes."""


class InputError(CnnrtError, ValueError):
    """run()/predict() got a wrong input name, shape or dtype."""


class ImageError(CnnrtError, ValueError):
    """An image that cannot be decoded or has an unusable shape."""


class BackendError(CnnrtError, ValueError):
    """An unknown backend, or one that cannot run this graph on this machine."""


class PluginError(CnnrtError, RuntimeError):
    """A plugin that cannot be loaded or registered (a custom op, a kernel library, an entry
    point), or a plugin kernel that failed at run time; names the op, node and file."""
