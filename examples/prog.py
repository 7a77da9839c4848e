# The README's first debugging example: x is printed before anything named x exists.
total = 3
print(x)
