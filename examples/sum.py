# The README's second debugging example: input() gives text, so + joins "2" and "3" into "23".
a = input()
b = input()
print(a + b)
