"""Grading with correct, wrong and cheating submissions."""

from __future__ import annotations

import textwrap

import pytest

from learnflow.sandbox import Sandbox
from learnflow.sandbox.grading import Grader, IOCase

TESTS = """
from solution import add


def test_small():
    assert add(2, 3) == 5


def test_negative():
    assert add(-1, -1) == -2


def test_type():
    assert add(1, 1) != 3
"""


@pytest.fixture
def grader() -> Grader:
    return Grader(Sandbox(), timeout_s=5)


async def test_correct_submission_passes(grader: Grader):
    report = await grader.grade(code="def add(a, b):\n    return a + b\n", tests=TESTS)
    assert report.passed and report.score == 1.0
    assert [t.name for t in report.tests] == ["test_small", "test_negative", "test_type"]


async def test_wrong_submission_gets_actionable_message(grader: Grader):
    report = await grader.grade(code="def add(a, b):\n    return a - b\n", tests=TESTS)
    assert not report.passed
    small = report.tests[0]
    assert not small.passed
    assert "add(2, 3) == 5" in small.message and "got -1" in small.message and "expected 5" in small.message
    assert report.score == pytest.approx(1 / 3, abs=0.01)


async def test_syntax_error_gets_a_helpful_message(grader: Grader):
    report = await grader.grade(code="def add(a, b)\n    return a + b\n", tests=TESTS)
    assert not report.passed
    assert "line 1" in report.feedback and "SyntaxError" in report.feedback
    assert all(not t.passed for t in report.tests)


async def test_runtime_error_in_module_is_reported(grader: Grader):
    report = await grader.grade(code="def add(a, b):\n    return a + b\nprint(undefined)\n", tests=TESTS)
    assert not report.passed
    assert "NameError" in report.tests[0].message and "line 3" in report.tests[0].message


CHEATS = {
    "prints fake results": 'print("test_small PASSED")\nprint(\'{"event": "result", "passed": true}\')\n'
    "def add(a, b):\n    return 0\n",
    "os._exit before tests": "import os\nos._exit(0)\n",
    "sys.exit before tests": "import sys\nsys.exit(0)\n",
    "always-equal object": "class Eq:\n    def __eq__(self, other):\n        return True\n"
    "    def __ne__(self, other):\n        return False\n\ndef add(a, b):\n    return Eq()\n",
    "int subclass always equal": "class I(int):\n    def __eq__(self, o):\n        return True\n"
    "    def __ne__(self, o):\n        return False\n\ndef add(a, b):\n    return I(0)\n",
    "patches AssertionError": "import builtins\nclass Nope(Exception):\n    pass\nbuiltins.AssertionError = Nope\n"
    "def add(a, b):\n    return 0\n",
    "patches the harness module": "import sys\nm = sys.modules['__main__']\nm._report = lambda r: None\n"
    "def add(a, b):\n    return 0\n",
    "exits inside a test": "import os\ndef add(a, b):\n    os._exit(0)\n",
    "infinite loop": "def add(a, b):\n    while True:\n        pass\n",
    "hides traceback": "import sys\nsys.excepthook = lambda *a: None\nsys.stderr = open('/dev/null', 'w')\n"
    "def add(a, b):\n    raise ValueError('x')\n",
    "reads stdin for the token": 'import sys\ntoken = sys.stdin.read()\nprint(token, \'{"event": "end"}\')\n'
    "def add(a, b):\n    return 0\n",
}


@pytest.mark.parametrize("name", sorted(CHEATS))
async def test_cheating_submissions_do_not_pass(grader: Grader, name: str):
    report = await grader.grade(code=CHEATS[name], tests=TESTS)
    assert not report.passed, name
    assert report.score < 1.0


async def test_io_tests_compare_output(grader: Grader):
    code = "name = input()\nprint(f'Hello, {name}!')\n"
    cases = [IOCase(name="greets", stdin="Ada\n", expected_stdout="Hello, Ada!\n")]
    assert (await grader.grade(code=code, io_tests=cases)).passed
    wrong = await grader.grade(code="print('Hi')\n", io_tests=cases)
    assert not wrong.passed and "expected output" in wrong.tests[0].message


async def test_pytest_raises_is_supported(grader: Grader):
    tests = (
        "import pytest\nfrom solution import div\n\n"
        "def test_raises():\n    with pytest.raises(ZeroDivisionError):\n        div(1, 0)\n"
    )
    assert (await grader.grade(code="def div(a, b):\n    return a / b\n", tests=tests)).passed
    swallowed = await grader.grade(code="def div(a, b):\n    return 0 if b == 0 else a / b\n", tests=tests)
    assert not swallowed.passed and "ZeroDivisionError" in swallowed.tests[0].message


CALLBACK_TESTS = """
from solution import apply


def test_apply_calls_the_function():
    assert apply(lambda x: x * 2, 21) == 42


def test_apply_again():
    assert apply(lambda x: x + 1, 1) == 2
"""

CALLBACK_CHEATS = {
    "reaches tester globals through a callback": "def apply(f, x):\n    g = f.__globals__\n"
    "    g['report'](event='result', name='test_apply_again', passed=True)\n    return 0\n",
    "writes forged records to every descriptor": "import os, json\nfor fd in range(3, 64):\n    try:\n"
    "        os.write(fd, (json.dumps({'event': 'result', 'name': 'test_apply_again', 'passed': True}) + '\\\\n')"
    ".encode())\n    except OSError:\n        pass\ndef apply(f, x):\n    return 0\n",
    "answers requests it was never asked": "import os, json, sys\n"
    'os.write(int(sys.argv[2]), b\'{"a": 1, "v": {"v": 42}}\\\\n\' * 50)\n'
    "def apply(f, x):\n    return 0\n",
}


async def test_callbacks_work(grader: Grader):
    report = await grader.grade(code="def apply(f, x):\n    return f(x)\n", tests=CALLBACK_TESTS)
    assert report.passed, report.feedback


@pytest.mark.parametrize("name", sorted(CALLBACK_CHEATS))
async def test_channel_cheats_do_not_pass(grader: Grader, name: str):
    report = await grader.grade(code=CALLBACK_CHEATS[name], tests=CALLBACK_TESTS)
    assert not report.passed, (name, report)
    assert not any(t.passed for t in report.tests if t.name == "test_apply_again"), name


ACCOUNT = textwrap.dedent(
    """
    class BankError(Exception):
        pass


    class Overdrawn(BankError):
        def __init__(self, need):
            super().__init__(f"need {need}")
            self.need = need


    class Account:
        def __init__(self, owner, balance=0):
            self.owner = owner
            self.balance = balance

        def withdraw(self, amount):
            if amount > self.balance:
                raise Overdrawn(amount - self.balance)
            self.balance -= amount
            return self.balance

        def __str__(self):
            return f"{self.owner}: {self.balance}"
    """
)
ACCOUNT_TESTS = textwrap.dedent(
    """
    import pytest
    from solution import Account, BankError, Overdrawn


    def test_attributes():
        a = Account("ada", 10)
        assert a.owner == "ada"
        assert a.withdraw(3) == 7
        assert a.balance == 7
        assert str(a) == "ada: 7"
        assert isinstance(a, Account)
        assert type(a).__name__ == "Account"


    def test_exceptions():
        a = Account("bob", 1)
        with pytest.raises(Overdrawn) as info:
            a.withdraw(5)
        assert info.value.need == 4
        assert issubclass(Overdrawn, BankError)
        try:
            a.withdraw(9)
        except BankError as err:
            assert type(err).__name__ == "Overdrawn"
        else:
            pytest.fail("no error")


    def test_setting_attributes_is_seen():
        a = Account("c", 0)
        a.balance = 5
        assert a.withdraw(5) == 0
    """
)


async def test_student_classes_and_exceptions_work_through_the_proxy(grader: Grader):
    report = await grader.grade(code=ACCOUNT, tests=ACCOUNT_TESTS)
    assert report.passed, report.feedback
